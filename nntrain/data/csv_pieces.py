"""A CSV read front to back in pieces of whole records, for predict and eval, which must not hold their input:
standard input or a pipe, a compressed file, a plain file alike.

Each piece is the header followed by the next records, cut at a line break outside quotes (found as
`csv_bytes` finds records: a break after an odd number of quotes is inside a field), never inside a
multi-byte character (a break is one byte of its own in UTF-8), and never just after a blank line, as
blank lines at the end of the input are not rows but blank lines inside it are. Each piece then parses
exactly as its rows do in the whole input (`tables.parse_csv`), with the lines and offsets it names
shifted to the whole input's. A quote that opens no field (`5'11"`, which pandas reads as text) makes
quote counting unsafe: the rest of the input is then one piece, read as before pieces existed.
"""

import sys
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

from nntrain.data import csv_bytes
from nntrain.data.tables import Start, check_table_path, parse_csv
from nntrain.errors import DataError

READ_BYTES = 1 << 20  # what one read asks for; a pipe's read returns what has arrived, so output never waits on it
BOM = csv_bytes.BOM


def csv_frames(source: str, key: str, rows: int, narrow: list[str] = (),
               as_text: bool | tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
    """The rows of a CSV path or `-` (standard input), `rows` records at a time, each frame as `read_csv`
    (with `keep_empty`) gives those rows: indexed by line in the whole input, `attrs["as_text"]` included."""
    name = "standard input" if source == "-" else source
    stream = _open(source, key)
    try:
        seen = 0
        for data, start in _pieces(stream, rows):
            if seen == 0 and (not data or data.isspace()):
                raise DataError(f"{name} is empty: expected a header line and data rows")
            frame = parse_csv(data, name, list(narrow), as_text=as_text, start=start)
            if len(frame):
                seen += len(frame)
                yield frame
        if seen == 0:
            raise DataError(f"{name} has a header but no data rows")
    except csv_bytes.READ_ERRORS as exc:  # unreadable, or not the compression its name says
        raise DataError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _open(source: str, key: str) -> BinaryIO:
    """A binary stream of the CSV's (decompressed) bytes, refusing what `tables.read_csv` refuses before reading."""
    if source == "-":
        return sys.stdin.buffer
    path = check_table_path(source, key)
    try:
        return csv_bytes.OPENERS.get(path.suffix.lower(), open)(path, "rb")
    except csv_bytes.READ_ERRORS as exc:
        raise DataError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None


def _pieces(stream: BinaryIO, rows: int) -> Iterator[tuple[bytes, Start]]:
    """(the header and up to about `rows` records, where they start), until the input ends."""
    records = _Records(stream)
    header, _, _ = records.take(1, after_blank=True)
    lines = offset = 0
    while True:
        body, last, breaks = records.take(rows)
        yield header + body, Start(lines, offset)
        if last:
            return
        lines += breaks
        offset += len(body)


class _Records:
    """The bytes of a stream read so far and not yet taken, with the record ends found in them."""

    def __init__(self, stream: BinaryIO):
        self.read = getattr(stream, "read1", stream.read)
        self.buffer = bytearray()
        self.ends = np.empty(0, dtype=np.int64)  # offsets in `buffer` of the line breaks that end a record
        self.quoted = False  # whether the bytes scanned end inside a quoted field
        self.previous = csv_bytes.NEWLINE  # the byte before the next one to scan
        self.started = False
        self.whole = self.done = False  # whole: quotes cannot be counted, the rest is one piece
        self.quotes = False  # whether a quote has been seen: until then every line break ends a record

    def take(self, rows: int, after_blank: bool = False) -> tuple[bytes, bool, int]:
        """The next `rows` records or more (the blank lines after them too, unless `after_blank`), or
        everything left; whether the stream has ended with them; and how many line breaks they hold."""
        while True:
            cut = None if self.whole else self._cut(rows, after_blank)
            if cut is not None:
                taken = bytes(self.buffer[:cut])
                del self.buffer[:cut]
                left = self.ends[self.ends >= cut] - cut
                breaks = taken.count(b"\n") if self.quotes else len(self.ends) - len(left)
                self.ends = left
                return taken, False, breaks
            if self.done:
                taken = bytes(self.buffer)
                self.buffer.clear()
                return taken, True, taken.count(b"\n")
            self._fill()

    def _cut(self, rows: int, after_blank: bool) -> int | None:
        """Where the first `rows` records end, moved on past blank lines; None until that is known."""
        if len(self.ends) < rows:
            return None
        starts = np.concatenate([[-1], self.ends[:-1]])
        length = self.ends - starts - 1
        blank = (length == 0) | ((length == 1) & (np.frombuffer(self.buffer, np.uint8)[self.ends - 1] == csv_bytes.CR))
        candidates = np.flatnonzero(~blank[rows - 1:]) if not after_blank else np.array([0])
        if not len(candidates):
            return None
        return int(self.ends[rows - 1 + candidates[0]]) + 1

    def _fill(self) -> None:
        data = self.read(READ_BYTES)
        if not data:
            self.done = True
            return
        base = len(self.buffer)
        self.buffer += data
        if not self.whole:
            self._scan(np.frombuffer(data, dtype=np.uint8), base)

    def _scan(self, block: np.ndarray, base: int) -> None:
        """Find the record ends in a block just read (as `csv_bytes._scan` does for a whole file)."""
        breaks = np.flatnonzero(block == csv_bytes.NEWLINE)
        marks = np.flatnonzero(block == csv_bytes.QUOTE)
        if len(marks):
            self.quotes = True
            opens = (np.arange(len(marks)) + self.quoted) % 2 == 0
            opening = marks[opens]
            preceding = np.where(opening > 0, block[np.maximum(opening - 1, 0)], self.previous)
            at_bom = (opening == len(BOM)) & (not self.started) & (bytes(block[:len(BOM)]) == BOM)
            if not (np.isin(preceding, csv_bytes.FIELD_START) | at_bom).all():
                self.whole = True
                return
            breaks = breaks[(np.searchsorted(marks, breaks) + self.quoted) % 2 == 0]
            self.quoted = bool((self.quoted + len(marks)) % 2)
        self.ends = np.concatenate([self.ends, breaks + base])
        self.previous, self.started = int(block[-1]), True
