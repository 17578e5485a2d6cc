"""Which reader a table's path calls for: Parquet for a `.parquet` file or a folder of them, CSV otherwise.

The one place that tells the formats apart, so every command accepts both alike.
"""

from pathlib import Path

import pandas as pd

from nntrain.data.parquet import is_parquet, read_parquet
from nntrain.data.tables import read_csv


def read_table(source: str, key: str = "data", narrow: bool | list[str] = False, keep: tuple[str, ...] = (),
               keep_empty: bool = False, as_text: bool | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV (`-` for standard input) or a Parquet table; the options are `tables.read_csv`'s
    (`as_text` only means something for a CSV: a Parquet table's columns are typed, not written)."""
    if is_parquet(source):
        return read_parquet(source, key=key, narrow=narrow, keep=keep, keep_empty=keep_empty)
    return read_csv(source, key=key, narrow=narrow, keep=keep, keep_empty=keep_empty, as_text=as_text)


def is_image_folder(source: str) -> bool:
    """Whether `source` is a folder of images (one subfolder per class), not a folder of Parquet files."""
    return source != "-" and Path(source).is_dir() and not is_parquet(source)
