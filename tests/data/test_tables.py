"""CSV reading: line-numbered rows, and no silent column shifts."""

import io

import numpy as np
import pandas as pd
import pytest

from nntrain.data.tables import read_csv, write_csv
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


@pytest.fixture(params=["one call", "in chunks"])
def parse_mode(request, monkeypatch):
    """Small files parse in one call, large ones in chunks: both must read the same."""
    if request.param == "in chunks":
        monkeypatch.setattr("nntrain.data.tables.ONE_SHOT_BYTES", 0)
        monkeypatch.setattr("nntrain.data.tables.CHUNK_ROWS", 1)


def test_decimal_columns_are_narrowed_to_float32_except_kept_ones(write, parse_mode):
    path = str(write("d.csv", "a,b,n,y\n1.5,x,3,0.25\n2.5,y,4,0.75\n"))
    frame = read_csv(path, narrow=True, keep=("y",))
    assert frame.dtypes.astype(str).to_dict() == {"a": "float32", "b": "str", "n": "int64", "y": "float64"}
    named = read_csv(path, narrow=["a", "y"])
    assert named["a"].dtype == "float32" and named["y"].dtype == "float32"
    assert frame["a"].tolist() == [1.5, 2.5] and frame.index.tolist() == [2, 3]


def test_text_below_the_sampled_rows_falls_back_to_full_parsing(write, monkeypatch, parse_mode):
    monkeypatch.setattr("nntrain.data.tables.SAMPLE_ROWS", 2)
    frame = read_csv(str(write("d.csv", "a,y\n1.5,p\n2.5,q\noops,p\n")), narrow=True)
    assert frame["a"].tolist() == ["1.5", "2.5", "oops"]  # kept as text, for the feature check to report


def test_written_csv_reads_back_exactly_with_quoting_and_float32_text(monkeypatch):
    monkeypatch.setattr("nntrain.data.tables.WRITE_CHUNK_ROWS", 2)
    columns = {
        "path": np.array(["a.png", 'say "hi", then', "line\nbreak\u00e9"], dtype=object),
        "prediction": np.array([1, 2, 3]),
        "p": np.array([0.1, 1 / 3, 1e-8], dtype=np.float32),
    }
    out = io.BytesIO()
    write_csv(out, columns)
    text = out.getvalue().decode()
    assert text.splitlines()[:2] == ["path,prediction,p", "a.png,1,0.1"]
    back = pd.read_csv(io.StringIO(text))
    assert back["path"].tolist() == columns["path"].tolist()
    assert back["prediction"].tolist() == [1, 2, 3]
    assert np.array_equal(back["p"].to_numpy(np.float32), columns["p"])
