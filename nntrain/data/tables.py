"""Read CSV tables safely: never a silently shifted column, and row numbers that match the file.

Every frame read here is indexed by its data row's line number in the file
(the header is line 1), so later errors can say exactly where a bad cell is.
Columns that hold decimal numbers are parsed straight to float32 (the engine's
dtype), which halves the memory a large table takes while it is prepared.
"""

import csv
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nntrain.errors import ConfigError, DataError

SAMPLE_ROWS = 1000
CHUNK_ROWS = 100_000
ONE_SHOT_BYTES = 128 * 2**20  # smaller files parse in one call: twice as fast, and the memory is small anyway


def read_csv(source: str, key: str = "data", narrow: bool | list[str] = False,
             keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV path, or `-` for standard input.

    `key` names where the path came from, for errors. `narrow` parses columns as
    float32: True for every column whose first rows hold decimal numbers (except
    those in `keep`, such as targets), or a list naming them, so that files read
    for predict parse exactly like the training file did.
    """
    name = "standard input" if source == "-" else source
    handle = _open(source, key, name)
    if narrow is True:
        dtypes = _float32_columns(handle, keep)
    else:
        dtypes = {column: "float32" for column in narrow or ()}
    frame = _parse(handle, name, dtypes)
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # line numbers
    maybe_blank = frame.iloc[:, 0].isna().to_numpy()
    if maybe_blank.any():  # blank lines come back as rows of missing values: drop them
        blank = np.zeros(len(frame), dtype=bool)
        blank[maybe_blank] = frame[maybe_blank].isna().all(axis=1).to_numpy()
        frame = frame[~blank] if blank.any() else frame
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return frame


def _open(source: str, key: str, name: str):
    """A path (read by pandas in chunks) or, for stdin, the bytes; refusing missing and empty input."""
    if source == "-":
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise DataError(f"{name} is empty: expected a header line and data rows")
        return raw
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{key}: file not found: {source}")
    if path.is_dir():
        raise ConfigError(f"{key}: {source} is a directory, expected a CSV file")
    try:
        with open(path, "rb") as head:
            if not head.read(4096).strip():
                raise DataError(f"{name} is empty: expected a header line and data rows")
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from None
    return path


def _source(handle):
    return io.BytesIO(handle) if isinstance(handle, bytes) else handle


def _float32_columns(handle, keep: tuple[str, ...]) -> dict[str, str]:
    """Columns whose first rows are decimal numbers, to be parsed as float32."""
    try:
        sample = pd.read_csv(_source(handle), nrows=SAMPLE_ROWS, index_col=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        return {}  # the full parse reports the problem
    return {column: "float32" for column in sample.columns
            if pd.api.types.is_float_dtype(sample[column]) and column not in keep}


def _parse(handle, name: str, dtypes: dict[str, str]) -> pd.DataFrame:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            try:
                if dtypes and _size(handle) > ONE_SHOT_BYTES:
                    frame = _parse_in_chunks(handle, dtypes)
                else:
                    frame = pd.read_csv(_source(handle), index_col=False, skip_blank_lines=False, dtype=dtypes)
            except ValueError as exc:
                if not dtypes or isinstance(exc, (pd.errors.ParserError, UnicodeDecodeError)):
                    raise
                # text in a column expected to hold numbers: parse it as text, so it can be reported
                frame = pd.read_csv(_source(handle), index_col=False, skip_blank_lines=False)
                for column in dtypes:
                    if column in frame and pd.api.types.is_float_dtype(frame[column]):
                        frame[column] = frame[column].astype("float32")
        except pd.errors.ParserError as exc:
            raise DataError(f"{name}: {_parser_problem(str(exc))}") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{name} is empty: expected a header line and data rows") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise DataError(f"{name}: {_ragged_line(handle)}")
    return frame


def _parse_in_chunks(handle, dtypes: dict[str, str]) -> pd.DataFrame:
    """Parse in chunks, writing float32 columns straight into arrays sized from a line count.

    pandas' one-shot parse holds about four times the table while it works; this holds
    the float32 columns once plus one chunk.
    """
    rows = _count_lines(handle)
    columns: dict[str, np.ndarray] = {}
    rest, filled, order = [], 0, None
    for chunk in pd.read_csv(_source(handle), index_col=False, skip_blank_lines=False, dtype=dtypes,
                             chunksize=CHUNK_ROWS):
        order = list(chunk.columns)
        for column in dtypes:
            if column in chunk:
                target = columns.setdefault(column, np.empty(rows, dtype=np.float32))
                target[filled:filled + len(chunk)] = chunk[column].to_numpy()
        rest.append(chunk.drop(columns=[c for c in dtypes if c in chunk]))
        filled += len(chunk)
    if not rest:
        return pd.DataFrame()
    floats = pd.DataFrame({column: values[:filled] for column, values in columns.items()}, copy=False)
    return pd.concat([pd.concat(rest, ignore_index=True), floats], axis=1)[order]  # no copy of the floats


def _size(handle) -> int:
    return len(handle) if isinstance(handle, bytes) else Path(handle).stat().st_size


def _count_lines(handle) -> int:
    """An upper bound on the data rows: the number of line breaks (plus one for a missing last one)."""
    if isinstance(handle, bytes):
        return handle.count(b"\n") + 1
    count = 1
    with open(handle, "rb") as data:
        while block := data.read(1 << 24):
            count += block.count(b"\n")
    return count


def _parser_problem(message: str) -> str:
    # pandas: "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
    if "Expected" in message and "fields in line" in message:
        expected = message.split("Expected ")[1].split(" ")[0]
        line = message.split("fields in line ")[1].split(",")[0]
        seen = message.rsplit("saw ", 1)[1].strip()
        return f"line {line} has {seen} fields but the header has {expected}; fix or remove that row"
    return message.split("C error: ")[-1]


def _ragged_line(handle) -> str:
    """Find the first row with more fields than the header (pandas would silently cut it)."""
    raw = handle if isinstance(handle, bytes) else Path(handle).read_bytes()
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "replace")))
    header = next(reader)
    for row in reader:
        if len(row) > len(header):
            return (f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}; "
                    "fix or remove that row")
    return "rows do not match the header"


WRITE_CHUNK_ROWS = 100_000


def write_csv(stream, columns: dict[str, np.ndarray]) -> None:
    """Write equal-length columns as CSV to a binary stream, several times faster than DataFrame.to_csv.

    Each chunk of rows is laid out as one byte matrix (the fields of a row side by side,
    padded with NUL), so no Python code runs per value. Floats are written as the shortest
    decimal that reads back to the same float32 (predictions are float32 underneath).
    """
    names = list(columns)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(names)
    stream.write(header.getvalue().encode("utf-8"))
    rows = len(next(iter(columns.values()))) if columns else 0
    for start in range(0, rows, WRITE_CHUNK_ROWS):
        size = min(WRITE_CHUNK_ROWS, rows - start)
        comma = np.full((size, 1), ord(","), dtype=np.uint8)
        fields = []
        for name in names:
            fields += [_field_bytes(columns[name][start:start + size]), comma]
        fields[-1] = np.full((size, 1), ord("\n"), dtype=np.uint8)
        text = np.concatenate(fields, axis=1).ravel()
        stream.write(text[text != 0].tobytes())


def _field_bytes(values: np.ndarray) -> np.ndarray:
    """One column as a (rows, width) uint8 matrix of CSV fields, padded with NUL."""
    if values.dtype.kind == "f":  # numpy's shortest round-trip spelling, straight to bytes
        return _byte_matrix(values.astype(np.float32).astype("S20"))
    if values.dtype.kind in "iub":
        return _byte_matrix(values.astype(np.int64).astype("S20"))
    try:
        text = values.astype("S")
    except UnicodeEncodeError:
        text = np.char.encode(values.astype(str), "utf-8")
    matrix = _byte_matrix(text)
    special = np.isin(matrix, np.frombuffer(b',"\r\n', dtype=np.uint8)).any(axis=1)
    if special.any():
        quoted = ['"' + str(value).replace('"', '""') + '"' for value in values[special]]
        return _merge_rows(matrix, special, np.char.encode(np.array(quoted, dtype=str), "utf-8"))
    return matrix


def _byte_matrix(text: np.ndarray) -> np.ndarray:
    return text.view(np.uint8).reshape(len(text), text.dtype.itemsize)


def _merge_rows(matrix: np.ndarray, rows: np.ndarray, replacement: np.ndarray) -> np.ndarray:
    """`matrix` with the given rows replaced by (possibly wider) byte strings."""
    width = max(matrix.shape[1], replacement.dtype.itemsize)
    merged = np.zeros((len(matrix), width), dtype=np.uint8)
    merged[:, :matrix.shape[1]] = matrix
    merged[rows] = 0
    merged[rows, :replacement.dtype.itemsize] = _byte_matrix(replacement)
    return merged
