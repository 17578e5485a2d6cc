"""What the bytes of a CSV file say that pandas does not: where each record starts, how many fields
it has, and where UTF-8 breaks.

pandas numbers records, not lines (a quoted field with a line break shifts every later number),
pads a record with too few fields with missing values, and reports a decoding error relative
to its buffer. These functions read the data, a plain file or bytes in memory,
in blocks and answer with NumPy over each block, so no Python code runs per row, except for the
csv module's parse of a file with quote characters, which only such files (and only when asked)
pay for.
"""

import bz2
import codecs
import csv
import gzip
import io
import lzma
import mmap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

BLOCK_BYTES = 1 << 24
NEWLINE, COMMA, CR, QUOTE = ord("\n"), ord(","), ord("\r"), ord('"')
BOM = b"\xef\xbb\xbf"
FIELD_START = np.array([COMMA, NEWLINE, CR, QUOTE], dtype=np.uint8)  # what may come before an opening quote


def _zip_member(path: Path) -> BinaryIO:
    archive = zipfile.ZipFile(path)
    return archive.open(archive.namelist()[0])  # pandas reads a zip holding one file


OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".zip": _zip_member}  # as pandas infers them
READ_ERRORS = (OSError, EOFError, ValueError, lzma.LZMAError, zipfile.BadZipFile)


def must_be_read(path: Path) -> bool:
    """Whether a file can only be read once, front to back: compressed, or not a regular file (a pipe)."""
    return path.suffix.lower() in OPENERS or not path.is_file()


def read_all(path: Path) -> bytes:
    """The whole (decompressed) content of a file; raises one of READ_ERRORS."""
    opener = OPENERS.get(path.suffix.lower(), open)
    with opener(path, "rb") as stream:
        return stream.read()


def blocks(data: bytes | Path) -> Iterator[np.ndarray]:
    """The bytes of `data` as uint8 arrays of at most BLOCK_BYTES.

    A file is memory-mapped one block at a time, each window unmapped once its array is dropped,
    so the mapped pages (which count towards the process's resident memory) stay a block or two.
    """
    if isinstance(data, bytes):
        view = np.frombuffer(data, dtype=np.uint8)
        for start in range(0, len(view), BLOCK_BYTES):
            yield view[start:start + BLOCK_BYTES]
        return
    for window in _windows(data):
        yield np.frombuffer(window, dtype=np.uint8)


def _windows(path: Path) -> Iterator[mmap.mmap]:
    step = max(1, BLOCK_BYTES // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY  # offsets must align
    with open(path, "rb") as file:
        size = Path(path).stat().st_size
        for start in range(0, size, step):
            yield mmap.mmap(file.fileno(), min(step, size - start), offset=start, access=mmap.ACCESS_READ)


def contains(data: bytes | Path, byte: bytes) -> bool:
    """Whether `data` holds `byte` anywhere (a memchr-speed search)."""
    if isinstance(data, bytes):
        return byte in data
    for window in _windows(data):
        with window:
            if window.find(byte) >= 0:
                return True
    return False


def line_count(data: bytes | Path) -> int:
    """Lines in the data: its line breaks, plus one for a last line without one."""
    count, last = 0, NEWLINE
    for block in blocks(data):
        count += int(np.count_nonzero(block == NEWLINE))
        last = block[-1]
    return count + (last != NEWLINE)


def comma_count(data: bytes | Path) -> int:
    """Commas in the data, quoted or not."""
    return sum(int(np.count_nonzero(block == COMMA)) for block in blocks(data))


def trailing_breaks(data: bytes | Path, window: int = 1 << 16) -> int:
    """Line breaks at the very end of `data`, after its last other byte (one more than the blank lines
    there); reads only the end."""
    with (io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")) as stream:
        end, count = stream.seek(0, io.SEEK_END), 0
        while end > 0:
            start = max(0, end - window)
            stream.seek(start)
            chunk = stream.read(end - start)
            rest = chunk.rstrip(b"\r\n")
            count += chunk.count(b"\n", len(rest))
            if rest:
                break
            end = start
    return count


class Records(NamedTuple):
    """Each CSV record of the data, the header first."""

    lines: np.ndarray    # the line it starts on (1-based, as an editor shows it)
    fields: np.ndarray   # how many fields it has
    blank: np.ndarray    # whether it is an empty line


def records(data: bytes | Path, quoted: bool, fields: bool = True) -> Records | None:
    """Where each record of `data` starts and (if `fields`) how many fields it has; None if the csv module
    cannot parse it.

    Without quote characters every line is a record, and its fields are its commas plus one. With
    them, a line break or comma inside a quoted field belongs to the field: one is inside exactly
    when an odd number of quotes come before it (an escaped quote "" adds two). That holds while
    every opening quote starts a field, as in RFC 4180; a quote elsewhere (5'11") is text to
    pandas, so such a file is parsed with the csv module instead, which reads it the same way.
    """
    return _scan(data, quoted, fields) or _csv_records(data)


def _scan(data, quoted: bool, fields: bool = True) -> Records | None:
    """`records` with NumPy, block by block; without `fields`, commas are not looked at (fields all 1)."""
    ends, ordinals, before_end, cr_before = ([np.empty(0, np.int64)] for _ in range(4))
    offset = commas = breaks_seen = quotes = inside = 0  # inside: commas in quoted fields closed so far
    previous = NEWLINE
    bom = len(BOM) if _head(data, len(BOM)) == BOM else -1  # the header's first quote may follow a BOM
    for block in blocks(data):
        breaks = np.flatnonzero(block == NEWLINE)
        separators = np.flatnonzero(block == COMMA) if fields else np.empty(0, np.int64)
        commas_before = np.searchsorted(separators, breaks) + commas
        ordinal = np.arange(breaks_seen, breaks_seen + len(breaks))
        breaks_seen += len(breaks)
        if quoted:
            marks = np.flatnonzero(block == QUOTE)
            opens = (np.arange(len(marks)) + quotes) % 2 == 0
            opening = marks[opens]
            preceding = np.where(opening > 0, block[opening - 1], previous)
            if not (np.isin(preceding, FIELD_START) | (opening + offset == bom)).all():
                return None
            quotes_before = np.searchsorted(marks, breaks)
            outside = (quotes_before + quotes) % 2 == 0
            at_marks = np.searchsorted(separators, marks) + commas  # commas before each quote
            running = np.concatenate([[0], np.cumsum(np.where(opens, -at_marks, at_marks))]) + inside
            commas_before = commas_before - running[quotes_before]  # exact where the break is outside quotes
            breaks, commas_before, ordinal = breaks[outside], commas_before[outside], ordinal[outside]
            quotes, inside = quotes + len(marks), int(running[-1])
        ends.append(breaks + offset)
        ordinals.append(ordinal)
        before_end.append(commas_before)
        cr_before.append(np.where(breaks > 0, block[breaks - 1], previous) == CR)
        offset, commas, previous = offset + len(block), commas + len(separators), block[-1]
    if quotes % 2:
        return None  # a quoted field never closed: pandas has refused it already
    if previous != NEWLINE:  # a last line without a line break
        for parts, value in ((ends, offset), (ordinals, breaks_seen), (before_end, commas - inside),
                             (cr_before, previous == CR)):
            parts.append(np.array([value]))
    ends, ordinals, before_end, cr_before = (np.concatenate(p) for p in (ends, ordinals, before_end, cr_before))
    length = np.diff(ends, prepend=-1) - 1
    return Records(lines=np.concatenate([[1], ordinals[:-1] + 2]), fields=np.diff(before_end, prepend=0) + 1,
                   blank=(length == 0) | ((length == 1) & cr_before.astype(bool)))


def _head(data: bytes | Path, size: int) -> bytes:
    if isinstance(data, bytes):
        return data[:size]
    with open(data, "rb") as file:
        return file.read(size)


def _csv_records(data) -> Records | None:
    lines, fields = [], []
    with io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb") as stream:
        reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
        try:
            for row in reader:
                lines.append(reader.line_num)  # the line the record ends on, for now
                fields.append(len(row))
        except csv.Error:
            return None
    ends = np.array(lines, dtype=np.int64)
    counts = np.array(fields, dtype=np.int64)
    return Records(lines=np.concatenate([[1], ends[:-1] + 1])[:len(ends)], fields=np.where(counts == 0, 1, counts),
                   blank=counts == 0)


def utf8_problem(data: bytes | Path) -> tuple[int, int, int] | None:
    """(byte offset from the start, line, byte value) of the first byte that is not UTF-8, if any."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    for block in blocks(data):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(memoryview(block))
        except UnicodeDecodeError as exc:
            position = offset - pending + exc.start
            before = exc.object[:exc.start]
            return position, lines + before.count(b"\n") + 1, exc.object[exc.start]
        offset += len(block)
        lines += int(np.count_nonzero(block == NEWLINE))
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return offset - len(exc.object) + exc.start, lines + 1, exc.object[exc.start]
    return None
