"""Read Parquet tables (a `.parquet` file, or a folder of them) into the frames a CSV read gives.

Column types come from the file's schema, so nothing is parsed from text: numbers stay numbers,
text and categories (dictionary columns) become text, booleans booleans, and nulls missing values,
as an empty CSV cell is. Dtypes follow `tables.read_csv`: decimals (and integers with nulls) become
float32 when narrowed and float64 otherwise, whole integers int64, so a Parquet file and a CSV with the
same rows prepare identically. Rows are indexed by their number in the table, counted from 1 across a
folder's files in sorted order, under the index name "row" (which messages then say instead of "line").
The files are read one row group at a time (`row_groups`), the unit a streaming pass would consume.

pyarrow is an optional extra (`nntrain[parquet]`), imported only when a Parquet table is read.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from nntrain.data.tables import empty_rows
from nntrain.errors import ConfigError, DataError
from nntrain.extras import require

SUFFIX = ".parquet"


def is_parquet(source: str | Path) -> bool:
    """Whether `source` names a Parquet table: a `.parquet` file, or a folder holding `.parquet` files."""
    path = Path(source)
    if str(source) == "-":
        return False
    if path.is_dir():
        return any(True for _ in _listed(path))
    return path.suffix.lower() == SUFFIX


def read_parquet(source: str, key: str = "data", narrow: bool | list[str] = False,
                 keep: tuple[str, ...] = (), keep_empty: bool = False) -> pd.DataFrame:
    """Read a Parquet file or folder, with `narrow`, `keep` and `keep_empty` as `read_csv` takes them."""
    pa = _pyarrow(key, source)
    groups = list(row_groups(source, key))
    if not groups:
        raise DataError(f"{source} has columns but no data rows")
    table = pa.concat_tables(groups)  # no copy: the groups become the table's chunks
    del groups
    columns = {name: table.column(name) for name in table.column_names}
    rows = table.num_rows
    del table  # each column is freed once converted
    named = set() if narrow is True else set(narrow or ())
    values = {}
    for name in list(columns):
        values[name] = _values(columns.pop(name), (narrow is True and name not in keep) or name in named,
                               name in named)
    frame = pd.DataFrame(values, index=pd.RangeIndex(1, 1 + rows, name="row"), copy=False)
    if not keep_empty and len(frame.columns):
        empty = empty_rows(frame)
        frame = frame[~empty] if empty.any() else frame
    if len(frame) == 0:
        raise DataError(f"{source} has columns but no data rows")
    return frame


def parquet_chunks(source: str, key: str = "data", narrow: bool | list[str] = False,
                   keep: tuple[str, ...] = (), rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The table one row group at a time (with `rows`: `rows` rows at a time, across row groups and files),
    each as the frame `read_parquet` would give for its rows (empty rows kept), for a pass that must not
    hold the table."""
    named = set() if narrow is True else set(narrow or ())
    first = 1
    for part in _row_slices(source, key, rows):
        values = {name: _values(part.column(name), (narrow is True and name not in keep) or name in named,
                                name in named) for name in part.column_names}
        yield pd.DataFrame(values, index=pd.RangeIndex(first, first + part.num_rows, name="row"), copy=False)
        first += part.num_rows


def _row_slices(source: str, key: str, rows: int | None) -> Iterator:
    """The row groups as they are, or re-cut into tables of `rows` rows (the last fewer)."""
    if rows is None:
        yield from row_groups(source, key)
        return
    pa = _pyarrow(key, source)
    pending, held = [], 0
    for group in row_groups(source, key):
        pending.append(group)
        held += group.num_rows
        while held >= rows:
            table = pa.concat_tables(pending)  # no copy: the groups become its chunks
            pending, held = [table.slice(rows)], held - rows
            yield table.slice(0, rows)
    if held:
        yield pa.concat_tables(pending)


def parquet_shape(source: str, key: str = "data") -> tuple[int, int]:
    """(rows, columns) of the table, from its files' metadata alone."""
    pq = _pyarrow(key, source, "pyarrow.parquet")
    rows, width = 0, 0
    for path in parquet_files(source, key):
        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception:  # a damaged file: the read names it
            continue
        rows, width = rows + metadata.num_rows, max(width, metadata.num_columns)
    return rows, width


def row_groups(source: str, key: str = "data") -> Iterator:
    """Every row group of the table as a pyarrow Table, file by file in sorted order, all with the first
    file's columns; refusing a damaged file, a column type nntrain cannot use and a file whose schema differs."""
    pa, pq = _pyarrow(key, source), _pyarrow(key, source, "pyarrow.parquet")
    failures = (pa.ArrowException, OSError, ValueError)  # what pyarrow raises for a file that is not Parquet
    first = None
    for path in parquet_files(source, key):
        try:
            file = pq.ParquetFile(path)
            schema = file.schema_arrow
        except failures as exc:
            raise DataError(_unreadable(path, exc)) from None
        schema = _without_index(schema)
        if first is None:
            first = (path, schema)
            _check_types(path, schema)
        else:
            _check_same_schema(path, schema, *first)
        for index in range(file.num_row_groups):
            try:
                yield file.read_row_group(index, columns=first[1].names)
            except failures as exc:
                raise DataError(_unreadable(path, exc, f"row group {index + 1}")) from None


def parquet_files(source: str, key: str = "data") -> list[Path]:
    """The files of a Parquet table: the file itself, or a folder's `.parquet` files in sorted order."""
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{key}: file not found: {source}")
    return sorted(_listed(path)) if path.is_dir() else [path]


def _listed(folder: Path) -> Iterator[Path]:
    return (p for p in folder.iterdir() if p.suffix.lower() == SUFFIX and p.is_file() and not p.name.startswith("."))


def _pyarrow(key: str, source: str, module: str = "pyarrow"):
    return require(module, "parquet", f"{key}: {source} is a Parquet table; reading it", "pyarrow")


def _without_index(schema):
    """The schema less the row labels pandas' `to_parquet` stores as columns (`__index_level_0__` for a filtered
    frame): they number the writer's rows, they are not data."""
    labels = {name for name in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)}
    for name in labels & set(schema.names):
        schema = schema.remove(schema.get_field_index(name))
    return schema


def _unreadable(path: Path, exc: Exception, where: str = "") -> str:
    problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"cannot read {path}{' (' + where + ')' if where else ''}: not a Parquet file, or damaged ({problem}); "
            "write it again, or remove it")


def _check_types(path: Path, schema) -> None:
    names = schema.names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: the schema repeats the column name {repeated[0]!r}; give each column its own name")
    for field in schema:
        if _converter(field.type) is None:
            raise DataError(f"{path}: column {field.name!r} has the Parquet type {field.type}, which nntrain cannot "
                            "use (it reads numbers, booleans, text and categories); convert the column to one of "
                            "those, or write the file without it")


def _check_same_schema(path: Path, schema, first: Path, expected) -> None:
    """A folder's files must hold the same columns with the same types (in any order)."""
    types = {field.name: field.type for field in schema}
    for field in expected:
        if field.name not in types:
            raise DataError(f"{path}: has no column {field.name!r}, which {first.name} has; every Parquet file of "
                            f"{path.parent} must have the same columns and types")
        if types[field.name] != field.type:
            raise DataError(f"{path}: column {field.name!r} is {types[field.name]} here but {field.type} in "
                            f"{first.name}; every Parquet file of {path.parent} must have the same columns and types")
    extra = [name for name in schema.names if name not in expected.names]
    if extra:
        raise DataError(f"{path}: has the column {extra[0]!r}, which {first.name} has not; every Parquet file of "
                        f"{path.parent} must have the same columns and types")


def _values(column, narrowed: bool, named: bool) -> np.ndarray:
    """One column's values as a NumPy array of the dtype a CSV read would give: decimals as float32 if
    `narrowed`, and integers too if `named` (a column the model read as float32 in training)."""
    values = _converter(column.type)(column, np.float32 if narrowed else np.float64)
    return values.astype(np.float32) if named and values.dtype.kind in "iu" else values


def _converter(kind) -> Callable | None:
    """How a column of this Parquet type becomes NumPy values, or None for a type nntrain cannot use."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        inner = _converter(kind.value_type)
        return None if inner is None else lambda column, dtype: inner(column.cast(kind.value_type), dtype)
    return next((convert for test, convert in _CONVERTERS if getattr(pa.types, test)(kind)), None)


def _decimals(column, dtype) -> np.ndarray:
    """Numbers as `dtype`, except float64 where a value lies beyond float32's range, so the check before
    preparation names that value (as for a CSV); nulls become NaN."""
    import pyarrow as pa

    wide = column.cast(pa.float64()).to_numpy()
    if dtype == np.float64:
        return wide
    with np.errstate(over="ignore"):
        narrow = wide.astype(np.float32)
    return wide if (np.isinf(narrow) & np.isfinite(wide)).any() else narrow


def _integers(column, dtype) -> np.ndarray:
    """Whole numbers as int64 (uint64 as it is), as a CSV's integer column reads; with nulls, decimals
    (NaN marks a missing value)."""
    import pyarrow as pa

    if column.null_count:
        return _decimals(column, dtype)
    return column.to_numpy() if column.type == pa.uint64() else column.cast(pa.int64()).to_numpy()


def _booleans(column, dtype) -> np.ndarray:
    """True/False as bool; with nulls, objects True, False and NaN, as pandas reads such a CSV column."""
    if not column.null_count:
        return column.to_numpy()
    return _objects(column)


def _text(column, dtype) -> np.ndarray:
    return _objects(column)


def _objects(column) -> np.ndarray:
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    values[column.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return values


def _nulls(column, dtype) -> np.ndarray:
    """A column of nulls only, as a CSV column with every cell empty reads."""
    return np.full(len(column), np.nan, dtype=dtype)


_CONVERTERS = (("is_floating", _decimals), ("is_decimal", _decimals), ("is_integer", _integers),
               ("is_boolean", _booleans), ("is_string", _text), ("is_large_string", _text), ("is_null", _nulls))
