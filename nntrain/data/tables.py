"""Read CSV tables safely: never a silently shifted column, and row numbers that match the file.

Every frame read here is indexed by the line each data row starts on in the file
(the header is line 1; a quoted field with a line break does not shift later
rows), so later errors can say exactly where a bad cell is. Every row has as many
fields as the header, and every column its own name. Columns that hold decimal
numbers are parsed straight to float32 (the engine's dtype), which halves the
memory a large table takes while it is prepared.
"""

import csv
import difflib
import io
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from nntrain.data import csv_bytes
from nntrain.errors import ConfigError, DataError
from nntrain.words import counted

SAMPLE_ROWS = 1000
CHUNK_ROWS = 100_000
ONE_SHOT_BYTES = 128 * 2**20  # smaller files parse in one call: twice as fast, and the memory is small anyway
SHOWN_VALUES = 5  # values beyond float32's range kept as written, per column, for messages
UNSUPPORTED_SUFFIXES = (".tar", ".zst")  # compressions pandas reads but nntrain cannot check line by line


def read_csv(source: str, key: str = "data", narrow: bool | list[str] = False,
             keep: tuple[str, ...] = (), keep_empty: bool = False, as_text: bool | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV path, or `-` for standard input.

    `key` names where the path came from, for errors. `narrow` parses columns as
    float32: True for every column whose first rows hold decimal numbers (except
    those in `keep`, such as targets), or a list naming them, so that files read
    for predict parse exactly like the training file did. Rows whose cells are all
    empty (blank lines included) are dropped unless `keep_empty`; blank lines at the
    end of the file are never rows. The columns named in `as_text` (True: all) come also as written
    (text, an empty cell as ""), in `frame.attrs["as_text"]`, a frame with the same rows, for copying
    them into an output unchanged (an ID `007` stays `007`).
    """
    name = "standard input" if source == "-" else source
    frame = parse_csv(_open(source, key, name), name, narrow, keep, as_text)
    if not keep_empty:
        empty = empty_rows(frame)
        if empty.any():
            text = frame.attrs.pop("as_text", None)
            frame = frame[~empty]
            if text is not None:
                frame.attrs["as_text"] = text[~empty]
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return frame


class Start(NamedTuple):
    """Where a piece of a CSV sits in the whole input (see `data.csv_pieces`): line breaks between the header
    and its first record, and bytes before that record less the header's, so that messages name the
    lines and offsets of the whole input."""

    lines: int = 0
    offset: int = 0


def parse_csv(handle, name: str, narrow: bool | list[str] = False, keep: tuple[str, ...] = (),
              as_text: bool | tuple[str, ...] = (), start: Start = Start()) -> pd.DataFrame:
    """`read_csv`'s frame of a file's path or a CSV's bytes (a header and records), empty rows kept; `start`
    places bytes that are a piece of a larger input."""
    header = _header(handle, name)
    if narrow is True:
        dtypes = float32_columns(handle, keep)
    else:
        dtypes = {column: "float32" for column in narrow or ()}
    frame = _parse(handle, name, dtypes, len(header), start)
    frame = _number_rows(frame, handle, name, start)
    _widen_overflowed(frame, handle, dtypes)
    if as_text:
        names = header if as_text is True else list(as_text)
        check_kept_columns(names, header, name)
        text = pd.read_csv(_source(handle), usecols=names, dtype=str, keep_default_na=False,
                           index_col=False, skip_blank_lines=False)[names]
        frame.attrs["as_text"] = text.iloc[:len(frame)].set_axis(frame.index)
    return frame


def check_kept_columns(wanted, columns: list[str], name: str) -> None:
    """Refuse a column to copy into an output that the input does not have, naming the close one and all."""
    for column in wanted:
        if column not in columns:
            match = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise DataError(f"{name} has no column {column!r} to keep{hint}; its columns are: {', '.join(columns)}")


def empty_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows have every cell empty: blank lines and rows of bare commas."""
    maybe = frame.iloc[:, 0].isna().to_numpy()
    empty = np.zeros(len(frame), dtype=bool)
    if maybe.any():  # only rows empty in the first column can be empty throughout
        empty[maybe] = frame[maybe].isna().all(axis=1).to_numpy()
    return empty


def check_table_path(source: str, key: str) -> Path:
    """The path of a CSV file to read, refusing (naming `key`) one that is missing, a directory, or compressed
    in a way nntrain cannot check line by line: what every reader of a CSV refuses, in the same words."""
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{key}: file not found: {source}")
    if path.is_dir():
        raise ConfigError(f"{key}: {source} is a directory, expected a CSV file")
    if unsupported_compression(path):
        raise ConfigError(f"{key}: {source}: nntrain reads CSV, plain or compressed as .gz, .bz2, .xz or .zip")
    return path


def unsupported_compression(path: Path) -> bool:
    """Whether the file is compressed in a way pandas reads but nntrain cannot check line by line."""
    return any(suffix in UNSUPPORTED_SUFFIXES for suffix in path.suffixes[-2:])


def _open(source: str, key: str, name: str):
    """A plain file's path, or the bytes of stdin, a compressed file or a pipe (read once, as the checks
    read the data again); refusing missing and empty input."""
    if source == "-":
        raw = sys.stdin.buffer.read()
    else:
        path = check_table_path(source, key)
        try:
            if not csv_bytes.must_be_read(path):
                with open(path, "rb") as head:
                    if head.read(4096).strip():
                        return path
                raw = b""
            else:
                raw = csv_bytes.read_all(path)
        except csv_bytes.READ_ERRORS as exc:  # unreadable, or not the compression its name says
            raise DataError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    if not raw or raw.isspace():  # isspace stops at the first other byte, where strip would copy
        raise DataError(f"{name} is empty: expected a header line and data rows")
    return raw


def _source(handle):
    return io.BytesIO(handle) if isinstance(handle, bytes) else handle


def _header(handle, name: str) -> list[str]:
    """The header's names as written, refusing a name given to two columns.

    pandas silently renames the second 'a' to 'a.1' (a name a real column may have), and the
    model would then read whichever copy the next file puts under that name.
    """
    try:
        binary = io.BytesIO(handle) if isinstance(handle, bytes) else open(handle, "rb")
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
            names = next(csv.reader(text), [])
    except (UnicodeDecodeError, csv.Error):
        return []  # the full parse reports it, with its place
    _refuse_repeated(names, name)
    return names


def _refuse_repeated(names: list[str], name: str) -> None:
    repeated = [column for column, count in Counter(names).items() if count > 1 and column.strip()]
    if repeated:
        places = ", ".join(f"{column!r} is columns {_listed([i + 1 for i, n in enumerate(names) if n == column])}"
                           for column in repeated[:5])
        raise DataError(f"{name}: the header repeats a column name ({places}); give each column its own name")


def csv_chunks(source: str, key: str = "data", narrow: bool = False, keep: tuple[str, ...] = (),
               dtypes: dict[str, str] | None = None, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A CSV file (plain or compressed, which streams) in chunks of `rows`, for a pass that must not hold it.

    Parsed as `read_csv` parses it: the header's names checked, decimal columns of the first rows
    float32 when `narrow` (except those in `keep`). pandas infers each chunk's types alone, so a
    caller that needs every chunk alike passes `dtypes` (see `chunks.common_dtypes`). Rows are
    indexed by line as if each record were one line, and empty rows are kept.
    """
    name = source
    if source == "-":
        raise ConfigError(f"{key}: standard input cannot be read twice; give a file")
    path = check_table_path(source, key)
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
        types = dtypes if dtypes is not None else float32_columns(path, keep) if narrow else {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            reader = pd.read_csv(path, index_col=False, skip_blank_lines=False, dtype=types, chunksize=rows)
            _refuse_repeated(header, name)
            line = 2
            for chunk in reader:
                if caught:
                    raise DataError(f"{name}: rows do not match the header (near line {line + len(chunk)}); "
                                    "fix or remove the rows with more fields than the header")
                chunk.index = pd.RangeIndex(line, line + len(chunk))
                line += len(chunk)
                yield chunk
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty: expected a header line and data rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{name}: {str(exc).split('C error: ')[-1].strip()}") from None
    except UnicodeDecodeError:
        raise DataError(f"{name}: not UTF-8 text; save the file as UTF-8 CSV") from None
    except csv_bytes.READ_ERRORS as exc:
        raise DataError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None


def _listed(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def float32_columns(handle, keep: tuple[str, ...]) -> dict[str, str]:
    """Columns whose first rows are decimal numbers, to be parsed as float32."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)  # the full parse reports a ragged row
            sample = pd.read_csv(_source(handle), nrows=SAMPLE_ROWS, index_col=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        return {}  # the full parse reports the problem
    return {column: "float32" for column in sample.columns
            if pd.api.types.is_float_dtype(sample[column]) and column not in keep}


def _parse(handle, name: str, dtypes: dict[str, str], expected: int, start: Start) -> pd.DataFrame:
    """The table as pandas parses it; a row with more fields than the header's `expected` is refused."""
    with warnings.catch_warnings(record=True) as caught:  # also keeps numpy's float32 overflow warning quiet
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
            raise DataError(f"{name}: {_misfit(handle, expected, start) or str(exc).split('C error: ')[-1].strip()}") from None
        except UnicodeDecodeError:
            raise DataError(f"{name}: {_not_utf8(handle, start)}; save the file as UTF-8 CSV") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{name} is empty: expected a header line and data rows") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise DataError(f"{name}: {_misfit(handle, expected, start) or 'rows do not match the header'}")
    return frame


def _parse_in_chunks(handle, dtypes: dict[str, str]) -> pd.DataFrame:
    """Parse in chunks, writing float32 columns straight into arrays sized from a line count.

    pandas' one-shot parse holds about four times the table while it works; this holds
    the float32 columns once plus one chunk.
    """
    rows = csv_bytes.line_count(handle)  # an upper bound on the data rows
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


def _not_utf8(handle, start: Start) -> str:
    """Where the first byte that is not UTF-8 sits (pandas' own offset is relative to its buffer)."""
    found = csv_bytes.utf8_problem(handle)
    if found is None:
        return "not UTF-8 text"
    offset, line, value = found
    return f"not UTF-8 text: the byte at offset {offset + start.offset} (line {line + start.lines}) is 0x{value:02x}"


def _widen_overflowed(frame: pd.DataFrame, handle, dtypes: dict[str, str]) -> None:
    """Reparse as float64 the float32 columns holding numbers beyond float32's range.

    float32 turned those into infinities; the exact values, and the first few as written in
    `frame.attrs["as_written"]` ({(column, line): text}), let the check before preparation name
    each one (an `inf` written in the file stays infinite either way).
    """
    for column in dtypes:
        if column not in frame or frame[column].dtype != np.float32:
            continue
        infinite = np.isinf(frame[column].to_numpy())
        if not infinite.any():
            continue
        wide = _reparse(handle, column, "float64")[:len(frame)]
        overflowed = np.flatnonzero(infinite & np.isfinite(wide))
        if len(overflowed):
            frame[column] = wide
            text = _reparse(handle, column, str)
            frame.attrs.setdefault("as_written", {}).update(
                {(column, frame.index[row]): text[row] for row in overflowed[:SHOWN_VALUES]})


def _reparse(handle, column: str, dtype) -> np.ndarray:
    return pd.read_csv(_source(handle), usecols=[column], dtype={column: dtype}, index_col=False,
                       skip_blank_lines=False)[column].to_numpy()


def _number_rows(frame: pd.DataFrame, handle, name: str, start: Start) -> pd.DataFrame:
    """Index the rows by the line each starts on; refuse rows with too few fields; drop blank lines at the end.

    Cheap when nothing can be wrong: line numbers need the bytes only if a quoted field spans
    lines, and field counts only if some row's last cell is missing (as a short row's is).
    """
    rows, width = len(frame), len(frame.columns)
    first = 2 + start.lines  # the line of the first record after a one-line header
    quoted = csv_bytes.contains(handle, b'"')
    last_missing = frame.iloc[:, -1].isna().to_numpy()
    spans_lines = quoted and csv_bytes.line_count(handle) > rows + 1
    if not spans_lines and not last_missing.any():
        frame.index = pd.RangeIndex(first, first + rows)
        return frame
    if not quoted and (kept := _unquoted_rows(frame, handle)) is not None:
        frame.index = pd.RangeIndex(first, first + rows)
        return frame.iloc[:kept] if kept < rows else frame
    found = csv_bytes.records(handle, quoted, fields=last_missing.any())
    if found is None or len(found.lines) <= rows:  # a layout the csv module reads otherwise than pandas
        frame.index = pd.RangeIndex(first, first + rows)
        return frame
    lines, fields, blank = (values[1:rows + 1] for values in found)
    short = last_missing & ~blank & (fields < width)
    if short.any():
        row = int(np.argmax(short))
        raise DataError(f"{name}: {_row_problem(lines[row] + start.lines, fields[row], width)}")
    frame.index = pd.Index(lines + start.lines, dtype=np.int64) if spans_lines else pd.RangeIndex(first, first + rows)
    kept = rows - int(np.argmax(~blank[::-1])) if (~blank).any() else 0
    return frame.iloc[:kept] if kept < rows else frame


def _unquoted_rows(frame: pd.DataFrame, handle) -> int | None:
    """How many rows come before the blank lines that end the file, if no row has too few fields; else None.

    Without quotes every line is a record, and pandas has refused any with too many fields, so
    the data lines hold (fields - 1) commas each exactly when none is short (or blank).
    """
    rows, width = len(frame), len(frame.columns)
    blank_end = min(max(csv_bytes.trailing_breaks(handle) - 1, 0), rows)
    if blank_end and not empty_rows(frame.iloc[rows - blank_end:]).all():
        return None
    data_commas = csv_bytes.comma_count(handle) - (width - 1)
    return rows - blank_end if data_commas == (rows - blank_end) * (width - 1) else None


def _misfit(handle, expected: int, start: Start) -> str | None:
    """The first row whose field count differs from the header's `expected`, as a message."""
    found = csv_bytes.records(handle, csv_bytes.contains(handle, b'"'))
    if found is None or not expected:
        return None
    wrong = (found.fields != expected) & ~found.blank
    wrong[0] = False
    if not wrong.any():
        return None
    row = int(np.argmax(wrong))
    return _row_problem(found.lines[row] + start.lines, found.fields[row], expected)


def _row_problem(line: int, fields: int, expected: int) -> str:
    return f"line {line} has {counted(fields, 'field')} but the header has {expected}; fix or remove that row"


WRITE_CHUNK_ROWS = 100_000


def write_csv(stream, columns: dict[str, np.ndarray], header: bool = True) -> None:
    """Write equal-length columns as CSV to a binary stream, several times faster than DataFrame.to_csv;
    without `header`, rows only (the next piece of a table already begun).

    Each chunk of rows is laid out as one byte matrix (the fields of a row side by side,
    padded with NUL), so no Python code runs per value. Floats are written as the shortest
    decimal that reads back to the same float32 (predictions are float32 underneath).
    """
    names = list(columns)
    if header:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(names)
        stream.write(line.getvalue().encode("utf-8"))
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
