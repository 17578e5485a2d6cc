"""`nntrain predict`: predictions for new rows as CSV on stdout (or a file), in the input's row order.

Columns: `prediction` (class name or value; `prediction_<target>` per column for
several targets) and, with --proba, `proba_<class>` per class. For image models
a first `path` column names each readable image; with --on-error skip a first
`line` column gives each predicted row's line in the input file (a `row`
column, numbered from 1, for a Parquet table); columns named by --keep come
next, copied from the input.
"""

import sys
from collections.abc import Iterator
from contextlib import closing

import pandas as pd

from nntrain.commands.display import Display
from nntrain.data.tables import write_csv
from nntrain.errors import ConfigError
from nntrain.run.api import load
from nntrain.files import write_atomic
from nntrain.words import counted


def predict(run: str, data: str, display: Display, output: str | None = None, proba: bool = False,
            on_error: str = "error", keep: list[str] = ()) -> None:
    opened = load(run, progress=display.reporter())
    if data == "-" and sys.stdin.isatty():
        display.note("reading from standard input (a CSV with a header, or image paths; end with Ctrl-D)")
    with closing(opened.predict_chunks(data, proba=proba, on_error=on_error, keep=keep)) as tables:
        rows = _write(tables, output)  # closed at once if writing stops early (Ctrl-C): its notes so far are said
    display.detail(f"predicted {counted(rows, 'row')} with {opened.saved.path}")


def _write(tables: Iterator[pd.DataFrame], output: str | None) -> int:
    """Write the pieces of the predictions as one CSV, each as it comes: to stdout, flushed after each (so a
    pipe reads the first rows while the input is still coming), or to `output` once all are written. Returns
    the rows written."""
    if output is None:
        sys.stdout.flush()
        return _write_pieces(tables, sys.stdout.buffer, flush=True)
    rows = []
    try:
        write_atomic(output, lambda handle: rows.append(_write_pieces(tables, handle)))
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
    return rows[0]


def _write_pieces(tables: Iterator[pd.DataFrame], stream, flush: bool = False) -> int:
    rows = 0
    for table in tables:
        write_csv(stream, {name: table[name].to_numpy() for name in table.columns}, header=rows == 0)
        rows += len(table)
        if flush:
            stream.flush()
    return rows
