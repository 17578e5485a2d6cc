"""`nntrain predict`: predictions for new rows as CSV on stdout (or a file), in the input's row order.

Columns: `prediction` (class name or value; `prediction_<target>` per column for
several targets) and, with --proba, `proba_<class>` per class. For image models
a first `path` column names each readable image; with --on-error skip a first
`line` column gives each predicted row's line in the input file (a `row`
column, numbered from 1, for a Parquet table); columns named by --keep come
next, copied from the input.
"""

import sys

import pandas as pd

from nntrain.commands.display import Display
from nntrain.data.tables import write_csv
from nntrain.errors import ConfigError
from nntrain.run.api import load
from nntrain.train.files import write_atomic
from nntrain.words import counted


def predict(run: str, data: str, display: Display, output: str | None = None, proba: bool = False,
            on_error: str = "error", keep: list[str] = ()) -> None:
    opened = load(run, progress=display.reporter())
    if data == "-" and sys.stdin.isatty():
        display.note("reading from standard input (a CSV with a header, or image paths; end with Ctrl-D)")
    table = opened.predict(data, proba=proba, on_error=on_error, keep=keep)
    _write(table, output)
    display.detail(f"predicted {counted(len(table), 'row')} with {opened.saved.path}")


def _write(table: pd.DataFrame, output: str | None) -> None:
    columns = {name: table[name].to_numpy() for name in table.columns}
    if output is None:
        sys.stdout.flush()
        write_csv(sys.stdout.buffer, columns)
        sys.stdout.buffer.flush()
        return
    try:
        write_atomic(output, lambda handle: write_csv(handle, columns))
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
