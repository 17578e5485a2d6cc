"""What the bytes of a CSV file say that pandas does not: where each record starts, how many fields
it has, and where UTF-8 breaks.

pandas numbers records, not lines (a quoted field with a line break shifts every later number),
pads a record with too few fields with missing values, and reports a decoding error relative
to its buffer. These functions read the file's (decompressed) bytes in blocks and answer with
NumPy over each block, so no Python code runs per row, except for the csv module's parse of a
file with quote characters, which only such files (and only when asked) pay for.
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
NEWLINE, COMMA, CR = ord("\n"), ord(","), ord("\r")


def _zip_member(path: Path) -> BinaryIO:
    archive = zipfile.ZipFile(path)
    return archive.open(archive.namelist()[0])  # pandas reads a zip holding one file


OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".zip": _zip_member}  # as pandas infers them


def open_binary(handle: bytes | Path) -> BinaryIO:
    """The data as a binary stream: standard input's bytes, or a file, decompressed like pandas does."""
    if isinstance(handle, bytes):
        return io.BytesIO(handle)
    opener = OPENERS.get(Path(handle).suffix.lower())
    return opener(handle) if opener else open(handle, "rb")


def blocks(handle: bytes | Path) -> Iterator[np.ndarray]:
    """The data's bytes as uint8 arrays of at most BLOCK_BYTES (views of a memory map for plain files)."""
    if isinstance(handle, bytes):
        data = np.frombuffer(handle, dtype=np.uint8)
    elif Path(handle).suffix.lower() in OPENERS or not Path(handle).is_file():
        with open_binary(handle) as stream:
            while chunk := stream.read(BLOCK_BYTES):
                yield np.frombuffer(chunk, dtype=np.uint8)
        return
    else:
        with open(handle, "rb") as file:
            if not Path(handle).stat().st_size:
                return
            data = np.frombuffer(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ), dtype=np.uint8)
    for start in range(0, len(data), BLOCK_BYTES):
        yield data[start:start + BLOCK_BYTES]


def contains(handle: bytes | Path, byte: bytes) -> bool:
    """Whether the data holds `byte` anywhere (a memchr-speed search)."""
    if isinstance(handle, bytes):
        return byte in handle
    if Path(handle).suffix.lower() not in OPENERS and Path(handle).is_file() and Path(handle).stat().st_size:
        with open(handle, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return mapped.find(byte) >= 0
    with open_binary(handle) as stream:
        while chunk := stream.read(BLOCK_BYTES):
            if byte in chunk:
                return True
    return False


def line_count(handle: bytes | Path) -> int:
    """Lines in the data: its line breaks, plus one for a last line without one."""
    count, last = 0, NEWLINE
    for block in blocks(handle):
        count += int(np.count_nonzero(block == NEWLINE))
        last = block[-1]
    return count + (last != NEWLINE)


def comma_count(handle: bytes | Path) -> int:
    """Commas in the data, quoted or not."""
    return sum(int(np.count_nonzero(block == COMMA)) for block in blocks(handle))


def trailing_breaks(handle: bytes | Path) -> int:
    """Line breaks at the very end of the data, after its last other byte (one more than the blank lines
    there); reads only the end of a plain file."""
    if isinstance(handle, bytes) or (Path(handle).suffix.lower() not in OPENERS and Path(handle).is_file()):
        return _trailing_breaks_backwards(handle)
    count = 0
    with open_binary(handle) as stream:
        while chunk := stream.read(BLOCK_BYTES):
            rest = chunk.rstrip(b"\r\n")
            count = chunk.count(b"\n", len(rest)) + (0 if rest else count)
    return count


def _trailing_breaks_backwards(handle, window: int = 1 << 16) -> int:
    with (io.BytesIO(handle) if isinstance(handle, bytes) else open(handle, "rb")) as stream:
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


def records(handle: bytes | Path, quoted: bool) -> Records | None:
    """Where each record starts and how many fields it has; None when the csv module cannot parse it.

    Without quote characters every line is a record and its fields are its commas plus one, counted
    with NumPy; with them, a comma or line break may sit inside a field, so the csv module parses.
    """
    return _quoted_records(handle) if quoted else _line_records(handle)


def _line_records(handle) -> Records:
    ends, commas_before, cr_before = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0, bool)]
    offset, commas, previous = 0, 0, NEWLINE
    for block in blocks(handle):
        breaks = np.flatnonzero(block == NEWLINE)
        separators = np.flatnonzero(block == COMMA)
        ends.append(breaks + offset)
        commas_before.append(np.searchsorted(separators, breaks) + commas)
        cr_before.append(np.where(breaks > 0, block[breaks - 1], previous) == CR)
        offset, commas, previous = offset + len(block), commas + len(separators), block[-1]
    if previous != NEWLINE:  # a last line without a line break
        ends.append(np.array([offset]))
        commas_before.append(np.array([commas]))
        cr_before.append(np.array([previous == CR]))
    ends, commas_before, cr_before = (np.concatenate(parts) for parts in (ends, commas_before, cr_before))
    length = np.diff(ends, prepend=-1) - 1
    return Records(lines=np.arange(1, len(ends) + 1), fields=np.diff(commas_before, prepend=0) + 1,
                   blank=(length == 0) | ((length == 1) & cr_before))


def _quoted_records(handle) -> Records | None:
    lines, fields = [], []
    with open_binary(handle) as stream:
        reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
        try:
            for row in reader:
                lines.append(reader.line_num)  # the line the record ends on, for now
                fields.append(len(row))
        except csv.Error:
            return None
    ends = np.array(lines, dtype=np.int64)
    counts = np.array(fields, dtype=np.int64)
    return Records(lines=np.concatenate([[1], ends[:-1] + 1]), fields=np.where(counts == 0, 1, counts),
                   blank=counts == 0)


def utf8_problem(handle: bytes | Path) -> tuple[int, int, int] | None:
    """(byte offset from the start, line, byte value) of the first byte that is not UTF-8, if any."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    for block in blocks(handle):
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
