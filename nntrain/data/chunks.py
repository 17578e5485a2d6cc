"""A table read chunk by chunk (CSV in chunks, `.csv.gz` streamed, Parquet by row group) with the same column
types in every chunk, for the streaming preparation that never holds the whole table.

pandas infers each CSV chunk's types alone: a column of whole numbers in one chunk and with a gap or a
word in the next would be int64, then float64 or text. A first pass over the table finds the type a
whole-table read gives each column (the common type of its chunks), and every later pass reads with it.
"""

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from nntrain.data.parquet import is_parquet, parquet_chunks
from nntrain.data.tables import check_table_path, csv_chunks, float32_columns
from nntrain.errors import DataError

CHUNK_ROWS = 100_000  # rows a chunk holds: a CSV's (Parquet reads a row group at a time)


class ChunkedTable:
    """The rows of `source`, as a sequence of frames that can be read again and again.

    The first pass, which finds the column types, hands each chunk to `scan` as later passes will read it
    while every chunk has the first one's types (as a table read in one go does, unless a column changes
    kind down the file); `scanned` says whether that held to the end, so that a caller can save a pass.
    """

    def __init__(self, source: str, key: str = "data", narrow: bool = False, keep: tuple[str, ...] = (),
                 rows: int | None = None, scan: Callable[[pd.DataFrame], None] | None = None):
        self.source, self.key, self.rows = source, key, rows or CHUNK_ROWS
        self.parquet = is_parquet(source)
        self.narrow, self.keep = narrow, keep
        self.scanned = False
        if not self.parquet and source != "-":
            check_table_path(source, key)  # before `float32_columns` reads the first rows
        self.dtypes, self.count = self._common_types(scan)
        if self.count == 0:
            raise DataError(f"{source} has a header but no data rows")

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for chunk in self._read(self.dtypes):
            yield _as_typed(chunk, self.dtypes)

    @property
    def columns(self) -> list[str]:
        return list(self.dtypes)

    def _read(self, dtypes) -> Iterator[pd.DataFrame]:
        if self.parquet:
            return parquet_chunks(self.source, self.key, self.narrow, self.keep)
        return csv_chunks(self.source, self.key, dtypes={} if dtypes is None else _csv_types(dtypes), rows=self.rows)

    def _common_types(self, scan) -> tuple[dict, int]:
        """Each column's type over all chunks, and the number of rows."""
        seen: dict[str, set] = {}
        count = 0
        narrow = set(float32_columns(self.source, self.keep)) if self.narrow and not self.parquet else set()
        first = None
        for chunk in self._read(None):
            for name in chunk.columns:
                seen.setdefault(name, set()).add(chunk[name].dtype)
            count += len(chunk)
            if first is None:
                first = {name: _narrowed(kind, name in narrow) for name, kind in chunk.dtypes.items()}
            if scan is not None:
                if all(_narrowed(chunk[name].dtype, name in narrow) == kind for name, kind in first.items()):
                    scan(_as_typed(chunk, first))
                else:
                    scan = None
        dtypes = {name: _narrowed(common_dtype(kinds), name in narrow) for name, kinds in seen.items()}
        self.scanned = scan is not None and first is not None and dtypes == first
        return dtypes, count


def _narrowed(kind, narrow: bool):
    return np.dtype(np.float32) if narrow and pd.api.types.is_float_dtype(kind) else kind


def _as_typed(chunk: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    changed = {name: kind for name, kind in dtypes.items() if chunk[name].dtype != kind}
    return chunk.astype(changed) if changed else chunk


def common_dtype(kinds: set):
    """The type a whole-table read gives a column whose chunks have `kinds`: numbers widen, a column with
    text in any chunk is text (its numbers as written), any other mixture holds Python objects."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if all(isinstance(kind, np.dtype) and kind.kind in "iuf" for kind in kinds):
        return np.result_type(*kinds)
    text = [kind for kind in kinds if isinstance(kind, pd.StringDtype)]
    return text[0] if text else np.dtype(object)


def _csv_types(dtypes: dict) -> dict:
    """What `read_csv` is told: numbers and text; a column of objects (True, False and gaps) is read as pandas
    reads it, and its chunks converted after."""
    return {name: kind for name, kind in dtypes.items() if kind != np.dtype(object)}
