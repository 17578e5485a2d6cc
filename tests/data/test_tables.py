"""CSV reading: line-numbered rows, and no silent column shifts."""

import gzip
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


def test_empty_rows_can_be_kept_but_blank_lines_at_the_end_are_never_rows(write):
    frame = read_csv(str(write("d.csv", "a,b\n1,x\n,\n\n3,y\n\n\n")), keep_empty=True)
    assert list(frame.index) == [2, 3, 4, 5]
    assert frame["b"].isna().tolist() == [False, True, True, False]


@pytest.mark.parametrize("text", ["a,b,c\n1,2,\n\n,,\n4,5,6\n\n", 'a,b,c\n"1,2",2,\n\n,,\n4,5,6\n\n'])
def test_rows_ending_in_an_empty_cell_and_blank_lines_are_not_short(write, text):
    frame = read_csv(str(write("d.csv", text)), keep_empty=True)
    assert list(frame.index) == [2, 3, 4, 5]


@pytest.mark.parametrize("text,line,fields", [
    ("a,b,c\n1,2,3,4\n5,6,7\n", 2, "4 fields"),     # pandas would silently treat column a as an index
    ("a,b,c\n1,2,3\n5,6,7,8\n", 3, "4 fields"),
    ("a,b,c\n1,2,3\n5,6\n", 3, "2 fields"),
    ("a,b,c\n1,2,3\n5\n", 3, "1 field"),
    ('a,b,c\n"1\n2",2,3\n"5,6",7\n', 4, "2 fields"),  # the quoted comma is no separator
    ('a,b,c\n"1\n2",2,3\n5,6,7,8\n', 4, "4 fields"),
])
def test_rows_with_more_or_fewer_fields_are_refused_naming_the_line(write, parse_mode, text, line, fields):
    with pytest.raises(DataError, match=f"line {line} has {fields} but the header has 3; fix or remove that row"):
        read_csv(str(write("d.csv", text)), narrow=True)


def test_rows_are_indexed_by_the_line_they_start_on_after_quoted_line_breaks(tmp_path, parse_mode):
    text = 'a,note\n1,"two\r\nlines"\n2,plain\n3,"x,\n\ny"\n4,\n'
    (tmp_path / "d.csv").write_text(text)
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(text.encode()))
    for name in ("d.csv", "d.csv.gz"):
        frame = read_csv(str(tmp_path / name), keep_empty=True)
        assert list(frame.index) == [2, 4, 5, 8]
        assert frame["note"].tolist()[:3] == ["two\r\nlines", "plain", "x,\n\ny"]


@pytest.mark.parametrize("header,message", [
    ("a,b,a", "'a' is columns 1 and 3"),
    ('\ufeff"a",b,"a",a', "'a' is columns 1, 3 and 4"),  # after a byte-order mark, quoted or not
    ("x,b,x,b", "'x' is columns 1 and 3, 'b' is columns 2 and 4"),
])
def test_a_name_given_to_two_columns_is_refused(write, header, message):
    with pytest.raises(DataError, match=f"the header repeats a column name \\({message}\\); give each column"):
        read_csv(str(write("d.csv", header + "\n1,2,3,4\n")))


def test_unnamed_and_pandas_like_names_are_not_repeats(write):
    frame = read_csv(str(write("d.csv", "a,a.1,,\n1,2,3,4\n")))
    assert list(frame.columns)[:2] == ["a", "a.1"] and len(frame.columns) == 4


def test_numbers_beyond_float32_are_kept_exact_and_as_written(write, parse_mode):
    frame = read_csv(str(write("d.csv", "a,b\n1.5,2.5\n1E39,inf\n-1e39,1.0\n")), narrow=True)
    assert frame["a"].dtype == np.float64 and frame["a"].tolist() == [1.5, 1e39, -1e39]
    assert frame["b"].dtype == np.float32 and np.isinf(frame["b"][3])  # written as inf: infinite as float32 too
    assert frame.attrs["as_written"] == {("a", 3): "1E39", ("a", 4): "-1e39"}


def test_bad_utf8_is_named_by_its_offset_in_the_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n" + b"1.5,x\n" * 50_000 + b"2.5,caf\xe9\n")
    with pytest.raises(DataError, match=r"not UTF-8 text: the byte at offset 300011 \(line 50002\) is 0xe9"):
        read_csv(str(path), narrow=True)


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
