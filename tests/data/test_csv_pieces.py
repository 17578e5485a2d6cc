"""A CSV read in pieces gives the rows, line numbers and messages of the whole file read at once."""

import gzip

import pandas as pd
import pytest

from nntrain.data.csv_pieces import csv_frames
from nntrain.data.tables import read_csv
from nntrain.errors import DataError

TRICKY = {
    "blank lines inside and at the end": b"a,b\n1,2\n\n3,4\n\n\n5,6\n\n\n",
    "quoted line breaks and commas": b'"x\ny",b\n"1\n2",3\n4,5\n"6,7",8\n"a ""q""\n",9\n10,11',
    "CRLF and a blank CRLF line": b"a,b\r\n1,2\r\n\r\n3,4\r\n5,6\r\n",
    "a BOM before a quoted name": b'\xef\xbb\xbf"a",b\n1,2\n3,4\n5,6\n',
    "a quote inside a field": b"a,b\n5'11\",2\n3,4\n7,8\n",
    "rows of bare commas": b"a,b,c\n1,2,3\n,,\n4,5,6\n,,\n7,8,9\n",
    "no line break at the end": b"a,b\n1,2\n3,4\n5,6",
}


def _whole_and_pieces(path, rows, **options):
    whole = read_csv(str(path), keep_empty=True, **options)
    pieces = list(csv_frames(str(path), "DATA", rows, **options))
    return whole, pieces


@pytest.mark.parametrize("name", TRICKY)
@pytest.mark.parametrize("rows", [1, 2, 3, 1000])
def test_pieces_hold_the_rows_and_lines_of_the_whole_file(tmp_path, name, rows):
    path = tmp_path / "t.csv"
    path.write_bytes(TRICKY[name])
    whole, pieces = _whole_and_pieces(path, rows, as_text=True)
    texts = [piece.attrs.pop("as_text") for piece in pieces]
    expected_text = whole.attrs.pop("as_text")
    joined = pd.concat(pieces)
    assert joined.index.tolist() == whole.index.tolist()
    pd.testing.assert_frame_equal(joined.astype(str), whole.astype(str))
    pd.testing.assert_frame_equal(pd.concat(texts), expected_text)
    if len(whole) > rows and name != "a quote inside a field":  # that one is read whole: quotes cannot be counted
        assert len(pieces) > 1


def test_a_compressed_file_is_read_in_pieces_too(tmp_path):
    text = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(50))
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text))
    pieces = list(csv_frames(str(path), "DATA", 7))
    assert [len(piece) for piece in pieces] == [7] * 7 + [1]
    assert pd.concat(pieces)["b"].tolist() == list(range(0, 100, 2)) and pieces[-1].index.tolist() == [51]


@pytest.mark.parametrize("defect, expected", [
    (b"1,2\n1,2,3\n", "line 13 has 3 fields but the header has 2"),
    (b"1,2\n3\n", "line 13 has 1 field but the header has 2"),
    (b"1,\xff\n", "the byte at offset 66 (line 12)"),
])
def test_a_defect_in_a_later_piece_is_named_by_its_place_in_the_whole_file(tmp_path, defect, expected):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n" + b"10,20\n" * 10 + defect + b"30,40\n" * 5)
    with pytest.raises(DataError) as whole:
        read_csv(str(path), keep_empty=True)
    with pytest.raises(DataError) as pieces:
        list(csv_frames(str(path), "DATA", 4))
    assert str(pieces.value) == str(whole.value) and expected in str(whole.value)


def test_empty_and_header_only_inputs_are_refused_as_a_whole_read_refuses_them(tmp_path):
    for text, message in ((b"", "is empty"), (b"a,b\n\n\n", "has a header but no data rows")):
        path = tmp_path / "t.csv"
        path.write_bytes(text)
        with pytest.raises(DataError, match=message):
            list(csv_frames(str(path), "DATA", 2))
