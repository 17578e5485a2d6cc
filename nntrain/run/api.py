"""The Python API: train a run from a config, open a trained one, evaluate it and predict with it.

Everything the command line does goes through here, so a script or a notebook can do
the same; errors are nntrain's own exception types (`nntrain.errors`), never SystemExit.
"""

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nntrain.data.image_folders import labelled_image_chunks, unlabelled_image_chunks
from nntrain.data.images import problems_note
from nntrain.data.readers import table_chunks
from nntrain.data.step import add_up
from nntrain.data.tables import check_kept_columns
from nntrain.data.tabular import Tally, prepare_inference
from nntrain.errors import ConfigError, DataError
from nntrain.run.evaluation import Scores, prediction_table
from nntrain.run.directory import read_summary
from nntrain.run.saved import SavedRun, open_run
from nntrain.train.progress import Reporter

if TYPE_CHECKING:
    from nntrain.config import Config

ConfigSource = "str | Path | Mapping | Config"  # the config machinery loads only when a run is trained
Overrides = Mapping[str, object] | Sequence[str] | None


class Run:
    """A run directory written by `fit`: its summary, config and final model."""

    def __init__(self, path: str | Path, progress: Reporter | None = None):
        self.path = Path(path)
        self.progress = progress or Reporter()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def dir(self) -> Path:
        """The run directory (for a checkpoint file: the folder holding it)."""
        return self.path if self.path.is_dir() else self.path.parent

    @property
    def summary(self) -> dict:
        """What summary.json holds: status, stop reason, best epoch, test metrics, seconds ({} while unfinished)."""
        return read_summary(self.dir)

    @property
    def config(self) -> dict:
        """The fully resolved config the run was trained with."""
        return self.saved.meta.get("config", {})

    @cached_property
    def saved(self) -> SavedRun:
        """The final model (a checkpoint path opens that checkpoint), verified and loaded."""
        return open_run(self.path)

    def evaluate(self, data: str | Path | pd.DataFrame | None = None) -> dict:
        """Loss and metrics on labelled data: a CSV path (`-` for stdin), a DataFrame, an image folder,
        or by default the run's held-out test split.

        A table is read, prepared and scored a chunk of rows at a time (see `readers.table_chunks`; images a
        chunk of paths at a time), the metrics added up over the chunks as `evaluation.Scores` says, so any
        length runs in flat memory."""
        saved = self.saved
        if data is None:
            held_out = saved.path.parent / "test.csv"
            if not held_out.exists():
                raise ConfigError(f"{self.path} has no held-out test split (data.split.test was 0); "
                                  "pass labelled data to evaluate on (nntrain eval RUN DATA)")
            data = held_out
        source = _source_name(data)
        scores = Scores(saved.model, saved.loss, saved.target)
        if saved.images:
            if isinstance(data, pd.DataFrame):
                raise ConfigError("an image model evaluates an image folder or a CSV of path and class, "
                                  "not a DataFrame")
            problems: list = []
            for x, y in labelled_image_chunks(str(data), saved.data, saved.model.dtype, problems):
                scores.add(x, y)
            notes = [note] if (note := problems_note(problems)) else []
        else:
            notes, tally = _Notes(), Tally()
            with notes.said_if_interrupted(self.progress.note):
                for frame in self._frames(data):
                    x, y, chunk_notes, _ = prepare_inference(frame, saved.data, source=source, with_target=True,
                                                             dtype=saved.model.dtype, tally=tally)
                    notes.add(chunk_notes)
                    if len(x):
                        scores.add(x, y)
            notes = notes.said + tally.notes(source, saved.target["columns"])
        for note in notes:
            self.progress.note(note)
        if scores.rows == 0:
            raise DataError(f"{source}: no labelled rows to evaluate on")
        loss, metrics, confusion = scores.result()
        result = {"checkpoint": str(saved.path), "data": source, "rows": scores.rows, "loss": loss,
                  "metrics": metrics}
        if confusion is not None:
            result["confusion_matrix"] = {"labels": saved.target["classes"], "matrix": confusion.tolist()}
        return result

    def predict(self, data: str | Path | pd.DataFrame | Sequence[str | Path], proba: bool = False,
                on_error: str = "error", keep: Sequence[str] = ()) -> pd.DataFrame:
        """Predictions, one row per input row in order: `prediction` (or `prediction_<target>`), and with
        `proba` one `proba_<class>` column per class.

        `data` is a DataFrame, a CSV path (`-` for stdin), or for image models a folder, an image
        file or a list of image paths (a first `path` column names each readable image). With
        `on_error="skip"` rows that cannot be prepared are left out, a warning lists them, and a
        first `line` column gives each predicted row's line in the input (`row`, its number from 1, for Parquet). For a DataFrame the result
        carries the input's index instead, so `df["pred"] = run.predict(df)["prediction"]` lines up
        (messages then count its rows from 0).

        `keep` names input columns (e.g. IDs; `["all"]` for every one) copied in front of the
        predictions (after `line`), exactly as written in the CSV (as text). A kept name that is also
        an output column's (`prediction`, `proba_a`, `line`) is refused rather than renamed.
        """
        tables = list(self.predict_chunks(data, proba=proba, on_error=on_error, keep=keep))
        return tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)

    def predict_chunks(self, data: str | Path | pd.DataFrame | Sequence[str | Path], proba: bool = False,
                       on_error: str = "error", keep: Sequence[str] = ()) -> Iterator[pd.DataFrame]:
        """`predict`'s table in consecutive pieces, each as soon as its rows are predicted: a file or standard
        input is read, prepared and predicted a chunk at a time (rows, see `readers.table_chunks`; image
        paths, see `image_folders.unlabelled_image_chunks`), so any length runs in flat memory. Line numbers
        in the pieces and in messages are those of the whole input; the notes come after the last piece.
        A DataFrame is one piece."""
        saved = self.saved
        keep = list(dict.fromkeys([keep] if isinstance(keep, str) else keep))
        if keep and saved.images:
            raise ConfigError("--keep: an image model's predictions already start with each image's `path`; "
                              "--keep copies columns of a table, leave it out")
        if on_error not in ("error", "skip"):
            raise ConfigError(f"on_error: expected error or skip, got {on_error!r}")
        if proba and saved.target["task"] == "regression":
            raise ConfigError("--proba: a regression model predicts values, not class probabilities; leave it out")
        if saved.images:
            yield from self._predict_images(data, proba)
            return
        source, notes, tally, predicted = _source_name(data), _Notes(), Tally(), 0
        with notes.said_if_interrupted(self.progress.note):
            for frame in self._frames(data, keep):
                kept = _kept_columns(data, frame, keep, source)
                frame = frame.drop(columns=[name for name in kept.columns if name not in saved.data["input_columns"]])
                x, _, chunk_notes, lines = prepare_inference(frame, saved.data, source=source, with_target=False,
                                                             dtype=saved.model.dtype, skip_bad=on_error == "skip",
                                                             tally=tally)
                notes.add(chunk_notes)
                counted_by = frame.index.name or "line"  # "row" for a Parquet table
                del frame
                predicted += len(x)
                if len(x):
                    yield self._table(x, proba, data, kept, lines, counted_by if on_error == "skip" else None)
        said = notes.said + tally.notes(source, saved.target["columns"])
        if predicted == 0:
            skipped = next((note for note in said if note.startswith("skipped")), "no rows")
            raise DataError(f"{source}: every row was skipped, nothing to predict; {skipped}")
        self._say(said)

    def _predict_images(self, data, proba: bool) -> Iterator[pd.DataFrame]:
        saved = self.saved
        if isinstance(data, pd.DataFrame):
            raise ConfigError("an image model predicts an image folder, an image file or a list of image paths, "
                              "not a DataFrame")
        source = [Path(p) for p in data] if isinstance(data, (list, tuple)) else str(data)
        problems: list = []
        for x, readable in unlabelled_image_chunks(source, saved.data, saved.model.dtype, str(self.path), problems):
            table = prediction_table(saved.model.predict(x), saved.target, saved.loss.output_activation, proba)
            table.insert(0, "path", [str(p) for p in readable])
            yield table
        self._say([note] if (note := problems_note(problems)) else [])

    def _say(self, notes: list[str]) -> None:
        """Predict's notes on stderr: what was skipped as warnings."""
        for note in notes:
            (self.progress.warn if note.startswith("skipped") else self.progress.note)(note)

    def _table(self, x: np.ndarray, proba: bool, data, kept: pd.DataFrame, lines: np.ndarray,
               counted_by: str | None) -> pd.DataFrame:
        """The predictions of prepared rows, with the kept input columns and (skipping bad rows, for a file)
        the `line` or `row` column in front."""
        saved = self.saved
        table = prediction_table(saved.model.predict(x), saved.target, saved.loss.output_activation, proba)
        front = [counted_by] if counted_by and not isinstance(data, pd.DataFrame) else []
        _refuse_collisions(kept.columns, front + list(table.columns))
        for position, name in enumerate(kept.columns):
            table.insert(position, name, kept[name].loc[lines].to_numpy())
        if isinstance(data, pd.DataFrame):
            table.index = data.index[lines]
        elif front:
            table.insert(0, counted_by, lines)
        return table

    def _frames(self, data, keep: Sequence[str] = ()) -> Iterator[pd.DataFrame]:
        """The input table: a DataFrame's plain copy whole, a file or stdin in chunks."""
        if isinstance(data, pd.DataFrame):
            yield plain_frame(data)
            return
        as_text = True if keep == ["all"] else tuple(keep)
        width = max(len(self.saved.data["input_columns"]), len(self.saved.data["features"]))
        yield from table_chunks(str(data), key="DATA", columns=width,
                                narrow=self.saved.data.get("float32_inputs", []), as_text=as_text)


class _Notes:
    """The notes of an input's chunks as one read of the whole input gives them, in order: what every chunk
    repeats once, and what chunks count (values not seen in training, ...) once, summed (see `step.add_up`)."""

    def __init__(self):
        self.said: list[str] = []

    def add(self, notes: list[str]) -> None:
        self.said = add_up(self.said + notes)

    @contextmanager
    def said_if_interrupted(self, say: Callable[[str], None]):
        """Say the notes of the chunks read so far if the input is interrupted (Ctrl-C, or predictions' reader
        stopping): the notes would otherwise be lost with the rest of the input."""
        try:
            yield
        except (KeyboardInterrupt, GeneratorExit):
            for note in self.said:
                say(f"{note} (in the rows read before the interruption)")
            raise


def _kept_columns(data, frame: pd.DataFrame, keep: list[str], source: str) -> pd.DataFrame:
    """The input columns to copy into the predictions, indexed like `frame`: as text for a file (a CSV's
    as written), as they are for a DataFrame (whose `frame` is its plain copy, indexed from 0)."""
    if not keep:
        return pd.DataFrame(index=frame.index)
    if "as_text" in frame.attrs:
        return frame.attrs.pop("as_text")
    original = data if isinstance(data, pd.DataFrame) else frame
    names = list(original.columns) if keep == ["all"] else keep
    check_kept_columns(names, list(original.columns), source)
    kept = original[names].set_axis(frame.index)
    if isinstance(data, pd.DataFrame):
        return kept
    # A Parquet table's values as text, like a CSV's: full precision, a missing value empty.
    return kept.astype(str).where(kept.notna(), "")


def _refuse_collisions(kept, outputs: list[str]) -> None:
    clashes = [name for name in kept if name in outputs]
    if clashes:
        raise ConfigError(f"--keep: the input column {clashes[0]!r} has the name of an output column "
                          f"(the output has {', '.join(outputs)}); rename it in the input, or keep other columns "
                          "by name instead of all")


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A caller's DataFrame as nntrain reads a CSV: text column names once each, NumPy dtypes (nullable
    and categorical columns converted, missing values as NaN), rows indexed by position from 0."""
    if not all(isinstance(name, str) for name in frame.columns):
        raise DataError("the DataFrame's column names must be text, one level (got "
                        f"{', '.join(repr(name) for name in frame.columns[:3])}...); rename them")
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise DataError(f"the DataFrame has the column name {repeated[0]!r} more than once; give each column its own "
                        "name")
    converted = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
            numbers = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
            converted[name] = column.to_numpy(dtype="float64", na_value=np.nan) if numbers else \
                column.astype(object).where(column.notna(), np.nan)
    return frame.assign(**converted).set_axis(pd.RangeIndex(len(frame)))


def fit(config: ConfigSource, *, overrides: Overrides = None, run_dir: str | Path | None = None,
        resume: str | Path | None = None, overwrite: bool = False, force: bool = False,
        progress: Reporter | None = None, callbacks: Sequence[Callable[[dict], object]] = (),
        started: float | None = None) -> Run:
    """Train the run a config describes and return it.

    `config` is a YAML path, a mapping of config keys, or a `Config`; `overrides` maps key paths
    to values (`{"optimizer.lr": 0.01}`) or lists `KEY=VALUE` strings as `--set` takes them;
    `run_dir` sets `output.dir`; `resume` continues an interrupted run ("auto": the config's own);
    `progress` receives notes and per-epoch progress (silent by default); each callback gets the
    record of every epoch and stops training by returning a reason (or True). `started` is the
    `time.monotonic()` moment the caller began, when earlier than this call (the CLI passes its own
    start, so `seconds` and `max_time` count the whole command). Under `mpiexec -n N` every rank calls
    this and they train one model together (see `train.parallel`); rank 0 alone writes the run.
    """
    from nntrain.run.training import train
    from nntrain.train.parallel import join, session

    started = time.monotonic() if started is None else started
    group = join()  # None unless this is one of several ranks under mpiexec
    if group is not None and group.rank:
        progress = None  # rank 0 alone shows progress
    with session(group):
        loaded, path = resolve_config(config, overrides, run_dir)
        directory = train(loaded, path, resume=None if resume is None else str(resume), overwrite=overwrite,
                          force=force, reporter=progress, callbacks=callbacks, started=started, group=group)
    return Run(directory, progress)


def prepare(config: ConfigSource, out: str | Path | None = None, *, overrides: Overrides = None,
            progress: Reporter | None = None) -> Path:
    """Prepare the config's `data.train` table in streaming passes into a prepared directory (default: beside
    the table, `NAME.prepared`) and return it; `data.train` may then name it, for any number of runs."""
    from nntrain.run.data import prepare_directory

    loaded, _ = resolve_config(config, overrides)
    reporter = progress or Reporter()
    return prepare_directory(loaded, out, progress=reporter.note)


def load(path: str | Path, progress: Reporter | None = None) -> Run:
    """Open a run directory (or one checkpoint file) written by `fit`, finished or interrupted."""
    run = Run(path, progress)
    run.saved  # fail now, with the checkpoint's own error, rather than at first use
    return run


def resolve_config(config: ConfigSource, overrides: Overrides = None,
                   run_dir: str | Path | None = None) -> tuple["Config", str | None]:
    """A validated config and the file it came from (None for a mapping or a Config)."""
    from nntrain.config import Config
    from nntrain.config.loading import apply_override, load_config, validate_config
    from nntrain.config.messages import Origins

    assignments = _assignments(overrides) + ([f"output.dir={json.dumps(str(run_dir))}"] if run_dir else [])
    if isinstance(config, (str, Path)):
        return load_config(str(config), assignments)[0], str(config)
    data = config.model_dump(mode="json", exclude_unset=True) if isinstance(config, Config) else \
        json.loads(json.dumps(dict(config), default=_plain))
    if isinstance(config, Config) and not assignments:
        return config, None
    origins = Origins()
    for assignment in assignments:
        apply_override(data, assignment, origins)
    return validate_config(data, "the config mapping", origins), None


def _assignments(overrides: Overrides) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, str):
        raise ConfigError("overrides: a mapping of key paths to values, or a list of KEY=VALUE strings "
                          f"(e.g. [{overrides!r}]), not one string")
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(value, default=_plain)}" for key, value in overrides.items()]
    return list(overrides)


def _plain(value):
    """What JSON cannot hold, as the plain value it stands for: NumPy scalars and arrays, paths."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise ConfigError(f"cannot use {value!r} ({type(value).__name__}) as a config value; give numbers, text, "
                      "lists or mappings")


def _source_name(data) -> str:
    if isinstance(data, pd.DataFrame):
        return "the DataFrame (rows counted from 0)"
    return "standard input" if str(data) == "-" else str(data)
