"""Which reader a table's path calls for: Parquet for a `.parquet` file or a folder of them, CSV otherwise.

The one place that tells the formats apart, so every command accepts both alike.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nntrain.data.csv_pieces import csv_frames
from nntrain.data.parquet import is_parquet, parquet_chunks, read_parquet
from nntrain.data.tables import read_csv
from nntrain.errors import DataError

CHUNK_CELLS = 2**22  # cells predict and eval hold at a time: ~16 MB as float32 features, a few times that as text
CHUNK_ROWS = 65_536  # at most, however narrow the table


def read_table(source: str, key: str = "data", narrow: bool | list[str] = False, keep: tuple[str, ...] = (),
               keep_empty: bool = False, as_text: bool | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV (`-` for standard input) or a Parquet table; the options are `tables.read_csv`'s
    (`as_text` only means something for a CSV: a Parquet table's columns are typed, not written)."""
    if is_parquet(source):
        return read_parquet(source, key=key, narrow=narrow, keep=keep, keep_empty=keep_empty)
    return read_csv(source, key=key, narrow=narrow, keep=keep, keep_empty=keep_empty, as_text=as_text)


def table_chunks(source: str, key: str, columns: int, narrow: list[str] = (),
                 as_text: bool | tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
    """A CSV (`-` for standard input) or Parquet table read front to back in chunks of whole rows, for
    predict and eval to hold one at a time: each chunk as `read_table(..., keep_empty=True)` gives its rows,
    indexed by line (or row) in the whole input. `columns` (the widest the rows become) sizes the chunks."""
    rows = chunk_rows(columns)
    if not is_parquet(source):
        yield from csv_frames(source, key, rows, narrow, as_text)
        return
    seen = 0
    for chunk in parquet_chunks(source, key, narrow=list(narrow), rows=rows):
        seen += len(chunk)
        yield chunk
    if seen == 0:
        raise DataError(f"{source} has columns but no data rows")


def chunk_rows(columns: int) -> int:
    """Rows a chunk of a table `columns` wide holds: CHUNK_CELLS cells, at most CHUNK_ROWS rows. The
    environment variable NNTRAIN_CHUNK_ROWS sets it instead (tests force tiny chunks with it)."""
    forced = os.environ.get("NNTRAIN_CHUNK_ROWS")
    if forced:
        return max(1, int(forced))
    return max(1, min(CHUNK_ROWS, CHUNK_CELLS // max(1, columns)))


def is_image_folder(source: str) -> bool:
    """Whether `source` is a folder of images (one subfolder per class), not a folder of Parquet files."""
    return source != "-" and Path(source).is_dir() and not is_parquet(source)
