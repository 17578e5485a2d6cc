"""CSV reading: line-numbered rows, and no silent column shifts."""

import io

import pytest

from nntrain.data.tables import read_csv
from nntrain.errors import ConfigError, DataError


def test_rows_are_indexed_by_line_number_and_blank_lines_skipped(write):
    frame = read_csv(str(write("d.csv", "a,b\n1,x\n\n3,y\n")))
    assert list(frame.index) == [2, 4]
    assert frame["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize("text,line,fields", [
    ("a,b,c\n1,2,3,4\n5,6,7\n", 2, 4),     # pandas would silently treat column a as an index
    ("a,b,c\n1,2,3\n5,6,7,8\n", 3, 4),
])
def test_rows_with_extra_fields_are_refused_naming_the_line(write, text, line, fields):
    with pytest.raises(DataError, match=f"line {line} has {fields} fields but the header has 3"):
        read_csv(str(write("d.csv", text)))


def test_empty_and_header_only_files(write):
    with pytest.raises(DataError, match="is empty"):
        read_csv(str(write("e.csv", "")))
    with pytest.raises(DataError, match="has a header but no data rows"):
        read_csv(str(write("h.csv", "a,b\n")))


def test_missing_file_names_the_config_key(tmp_path):
    with pytest.raises(ConfigError, match="data.train: file not found"):
        read_csv(str(tmp_path / "nope.csv"), key="data.train")


def test_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a,b\n1,2\n")))
    frame = read_csv("-")
    assert frame.to_dict("list") == {"a": [1], "b": [2]}
