"""Read CSV tables safely: never a silently shifted column, and row numbers that match the file.

Every frame read here is indexed by its data row's line number in the file
(the header is line 1), so later errors can say exactly where a bad cell is.
"""

import csv
import io
import sys
import warnings
from pathlib import Path

import pandas as pd

from nntrain.errors import ConfigError, DataError


def read_csv(source: str, key: str = "data") -> pd.DataFrame:
    """Read a CSV path, or `-` for standard input; `key` names where the path came from, for errors."""
    raw = _read_bytes(source, key)
    name = "standard input" if source == "-" else source
    if not raw.strip():
        raise DataError(f"{name} is empty: expected a header line and data rows")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.BytesIO(raw), index_col=False, skip_blank_lines=False)
        except pd.errors.ParserError as exc:
            raise DataError(f"{name}: {_parser_problem(str(exc), raw)}") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise DataError(f"{name}: {_ragged_line(raw)}")
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # line numbers
    blank = frame.isna().all(axis=1)
    if blank.any():
        frame = frame[~blank]
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return frame


def _read_bytes(source: str, key: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{key}: file not found: {source}")
    if path.is_dir():
        raise ConfigError(f"{key}: {source} is a directory, expected a CSV file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from None


def _parser_problem(message: str, raw: bytes) -> str:
    # pandas: "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
    if "Expected" in message and "fields in line" in message:
        expected = message.split("Expected ")[1].split(" ")[0]
        line = message.split("fields in line ")[1].split(",")[0]
        seen = message.rsplit("saw ", 1)[1].strip()
        return f"line {line} has {seen} fields but the header has {expected}; fix or remove that row"
    return message.split("C error: ")[-1]


def _ragged_line(raw: bytes) -> str:
    """Find the first row with more fields than the header (pandas would silently cut it)."""
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "replace")))
    header = next(reader)
    for row in reader:
        if len(row) > len(header):
            return (f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}; "
                    "fix or remove that row")
    return "rows do not match the header"
