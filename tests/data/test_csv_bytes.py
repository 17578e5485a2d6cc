"""The raw-bytes view of a CSV: record start lines, field counts, blank lines, UTF-8 offsets, in any block size."""

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from nntrain.data import csv_bytes

TEXT = b'a,b,c\r\n1,2,3\r\n\r\n4,5\r\n,,\r\n6,"x,\ny",7\n8,9,10'


@pytest.fixture(params=[1 << 24, 3], ids=["one block", "3-byte blocks"])
def block_size(request, monkeypatch):
    monkeypatch.setattr("nntrain.data.csv_bytes.BLOCK_BYTES", request.param)


def test_unquoted_records_are_lines_with_commas_plus_one_fields(block_size):
    found = csv_bytes.records(b"a,b,c\r\n1,2,3\r\n\r\n4,5\r\n,,\r\n8,9,10", quoted=False)
    assert found.lines.tolist() == [1, 2, 3, 4, 5, 6]
    assert found.fields.tolist() == [3, 3, 1, 2, 3, 3]
    assert found.blank.tolist() == [False, False, True, False, False, False]


def test_quoted_records_start_where_an_editor_shows_them(block_size):
    found = csv_bytes.records(TEXT, quoted=True)
    assert found.lines.tolist() == [1, 2, 3, 4, 5, 6, 8]
    assert found.fields.tolist() == [3, 3, 1, 2, 3, 3, 3]
    assert found.blank.tolist() == [False, False, True, False, False, False, False]


def test_compressed_files_and_pipes_are_read_whole(tmp_path):
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(TEXT))
    assert csv_bytes.must_be_read(path) and csv_bytes.read_all(path) == TEXT
    (tmp_path / "d.csv").write_bytes(TEXT)
    assert csv_bytes.must_be_read(Path("/dev/null")) and not csv_bytes.must_be_read(tmp_path / "d.csv")


def test_plain_files_are_mapped_and_counted(tmp_path, block_size):
    path = tmp_path / "d.csv"
    path.write_bytes(TEXT + b"\n")
    assert csv_bytes.line_count(path) == TEXT.count(b"\n") + 1
    read = np.concatenate([block.copy() for block in csv_bytes.blocks(path)])
    assert np.array_equal(read, np.frombuffer(TEXT + b"\n", np.uint8))


def test_the_first_byte_that_is_not_utf8_is_found_by_offset_and_line(block_size):
    assert csv_bytes.utf8_problem("a,b\ncafé,\u00e9t\u00e9\n".encode()) is None  # é split across blocks is fine
    assert csv_bytes.utf8_problem(b"a,b\n\xc3\xa9,1\n2,\xff\n") == (11, 3, 0xFF)
    assert csv_bytes.utf8_problem(b"a,b\n1,caf\xc3") == (9, 2, 0xC3)  # cut off at the end


@pytest.mark.parametrize("text,breaks", [
    (b"a\n1\n", 1), (b"a\n1", 0), (b"a\n1\n\n\n", 3), (b"a\r\n1\r\n\r\n", 2), (b"a\n,\n\n", 2), (b"\n\n", 2),
])
def test_trailing_breaks_count_the_line_breaks_after_the_last_other_byte(tmp_path, text, breaks):
    (tmp_path / "d.csv").write_bytes(text)
    assert csv_bytes.trailing_breaks(text) == breaks
    assert csv_bytes.trailing_breaks(tmp_path / "d.csv", window=1) == breaks


def test_comma_count_counts_every_comma(block_size):
    assert csv_bytes.comma_count(TEXT) == TEXT.count(b",")


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
@pytest.mark.parametrize("block", [1 << 24, 7, 2])
def test_the_vectorised_scan_reads_quotes_as_the_csv_module_does(monkeypatch, quoting, block):
    monkeypatch.setattr("nntrain.data.csv_bytes.BLOCK_BYTES", block)
    rng = np.random.default_rng(block)
    pieces = ["x", "", ",", '"', "\n", "\r\n", "say \"hi\", then", "a,b\nc"]
    rows = [["h1", "h,2", "h3"]] + [[pieces[i] for i in rng.integers(0, len(pieces), rng.integers(1, 5))]
                                   for _ in range(60)]
    text = io.StringIO()
    csv.writer(text, quoting=quoting, lineterminator="\n").writerows(rows)
    data = ("\ufeff" + text.getvalue() + "\n\n").encode()  # a byte-order mark, and blank lines at the end
    scanned, parsed = csv_bytes._scan(data, quoted=True), csv_bytes._csv_records(data)
    assert scanned is not None
    for mine, theirs in zip(scanned, parsed):
        assert mine.tolist() == theirs.tolist()


def test_a_quote_inside_an_unquoted_field_is_left_to_the_csv_module():
    data = b'name,height,w\nann,5\'11",60\nbob,"6,1",70\n'
    assert csv_bytes._scan(data, quoted=True) is None
    found = csv_bytes.records(data, quoted=True)
    assert found.lines.tolist() == [1, 2, 3] and found.fields.tolist() == [3, 3, 3]
