"""Turn tables into training arrays, and replay exactly the same preparation on new tables.

Training: select columns, drop rows without a target, split (seeded,
stratified) unless validation or test files are given, fit the pipeline on the
training rows, encode targets, and check that every feature is a finite number.
Everything learnt is returned as plain `state`, which `prepare_inference`
replays for eval and predict.
"""

import ctypes
from typing import NamedTuple

import numpy as np
import pandas as pd

from nntrain.data.pipeline import Pipeline
from nntrain.data.step import Context, is_numeric, place
from nntrain.data.prepared import TrainingData
from nntrain.data.report import add_outcomes, class_balance, leak_counts, leak_note, profile_columns
from nntrain.data.split import SPLIT_NAMES, TRAIN, split_rows
from nntrain.data.tables import empty_rows
from nntrain.data.targets import encode_target, fit_target, infer_task, label_strings
from nntrain.errors import DataError
from nntrain.words import counted


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_columns(frame: pd.DataFrame, wanted: list[str], source: str, role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing {role} column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(repr, missing))}; the file has: {', '.join(map(str, frame.columns))}")


def prepare_training(frames: dict[str, pd.DataFrame], sources: dict[str, str], *, target: str | list[str],
                     features: list[str] | None, task: str, loss: str | None, validation: float, test: float,
                     stratify: bool, pipeline: list[dict], target_transform: str, rng: np.random.Generator,
                     dtype) -> TrainingData:
    """Prepare `frames["train"]` (and explicit `frames["validation"]`/`["test"]`, if given) for training.

    Consumes `frames`: the raw tables are released as soon as they are no longer needed, so a
    large table is held at most twice (raw and prepared, then prepared and its matrix).
    """
    targets = [target] if isinstance(target, str) else list(target)
    train_source = sources["train"]
    check_columns(frames["train"], targets, train_source, "target")
    if features is not None:
        check_columns(frames["train"], features, train_source, "feature")
    features = features if features is not None else [c for c in frames["train"].columns if c not in targets]
    if not features:
        raise DataError(f"{train_source}: no feature columns left besides the target {targets}")
    steps = Pipeline(pipeline)
    notes: list[str] = []
    rows_read = {name: len(frame) for name, frame in frames.items()}
    for name in frames:
        check_columns(frames[name], features + targets, sources[name], "")
    empty = {name: _drop_empty_rows(frames, name, sources[name], notes) for name in list(frames)}
    selected = {name: _drop_missing_target(steps.clean_targets(frames[name][features + targets], targets), targets,
                                           sources[name], notes, "set data.target to another column")
                for name in list(frames)}
    frames.clear()
    read = [c for c in features if c not in steps.named_drops()]
    for name in selected:  # no loop variable holding a frame: `del selected` below must free them
        refuse_unrepresentable(selected[name], read, sources[name], dtype)
    main = selected["train"]

    task, task_note = infer_task(main, targets, task, loss)
    notes += [task_note] if task_note else []
    transform = "zscore" if target_transform == "auto" else target_transform
    target_state = None
    if task != "regression":
        target_state = fit_target(pd.concat([f[targets] for f in selected.values()]), targets, task, transform)
    groups = np.zeros(len(main), dtype=np.int64)
    if task == "classification" and stratify:
        groups = pd.Index(target_state["classes"]).get_indexer(label_strings(main[targets[0]])).astype(np.int64)
    explicit = [name for name in ("validation", "test") if name in selected]
    codes = pd.Series(split_rows(groups, 0.0 if "validation" in explicit else validation,
                                 0.0 if "test" in explicit else test, rng), index=main.index)

    columns = profile_columns(main[features], steps.markers())
    ctx = Context(target=targets, training=True)
    prepared, states, drops = steps.fit_transform(main, codes == TRAIN, ctx)
    add_outcomes(columns, prepared, steps.fates(states))
    inputs = [c for c in features if c not in steps.removed_columns(states)]
    codes = codes.reindex(prepared.index).to_numpy()
    masks = {name: codes == code for code, name in enumerate(SPLIT_NAMES) if name not in explicit}
    others = {name: steps.transform(selected[name], states, ctx) for name in explicit}
    notes += ctx.notes
    lines = {**{name: prepared.index[mask].to_numpy() for name, mask in masks.items()},
             **{name: frame.index.to_numpy() for name, frame in others.items()}}
    for name, fraction in (("train", 1), ("validation", validation), ("test", test)):
        if (fraction or name in explicit) and len(lines[name]) == 0:
            raise DataError(f"{sources.get(name, train_source)}: the {name} split is empty "
                            f"({counted(len(prepared), 'usable row')}); add rows or set data.split.{name}: 0")
    feature_names = [c for c in prepared.columns if c not in targets]
    state = {"input_columns": inputs, "numeric_inputs": [c for c in inputs if is_numeric(main[c])],
             "float32_inputs": [c for c in inputs if main[c].dtype == np.float32]}
    test_rows = (selected["test"] if "test" in explicit else main).loc[lines["test"]]
    del main, selected  # the raw rows are no longer needed
    return_freed_memory()

    if task == "regression":
        target_state = fit_target(prepared.loc[masks["train"], targets], targets, task, transform)
    y_all = encode_target(prepared, target_state, dtype, train_source)
    y = {name: y_all[mask] for name, mask in masks.items()}
    x = {name: to_matrix(prepared, feature_names, train_source, dtype, rows=mask)[0] for name, mask in masks.items()}
    del prepared
    for name, frame in others.items():
        x[name] = to_matrix(frame, feature_names, sources[name], dtype)[0]
        y[name] = encode_target(frame, target_state, dtype, sources[name])
    x = {name: x[name] for name in SPLIT_NAMES}
    y = {name: y[name] for name in SPLIT_NAMES}

    leaks = leak_counts(x)
    notes += [note] if (note := leak_note(leaks)) else []
    state.update({"target": target_state, "pipeline": {"steps": pipeline, "states": states},
                  "features": feature_names})
    report = {
        "sources": sources, "rows_read": rows_read, "empty_rows": empty,
        "rows_used": {n: len(x[n]) for n in SPLIT_NAMES},
        "dropped_by_step": drops, "leaks": leaks, "task": task, "features": feature_names, "columns": columns,
    }
    if task == "classification":
        report["class_balance"] = class_balance(y, target_state["classes"])
    return TrainingData(x=x, y=y, test_rows=test_rows, state=state, lines=lines, notes=notes, report=report)


def return_freed_memory() -> None:
    """Hand memory freed by the raw table back to the system (glibc only), so the arrays built
    next do not add to the peak the table already set."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _drop_empty_rows(frames: dict[str, pd.DataFrame], name: str, source: str, notes: list[str]) -> int:
    """Drop the rows of `frames[name]` whose cells are all empty (blank lines too), which hold nothing to learn
    from; returns how many, also counted in a note."""
    frame = frames[name]
    empty = empty_rows(frame)
    count = int(empty.sum())
    if count == len(frame):
        raise DataError(f"{source}: every data row is empty ({counted(count, 'row')}); fill in the file")
    if count:
        notes.append(f"{source}: dropped {counted(count, 'empty row')} (first on {place(frame.index, frame.index[empty][0])})")
        frames[name] = frame[~empty]
    return count


def _drop_missing_target(frame: pd.DataFrame, targets: list[str], source: str, notes: list[str],
                         instead: str) -> pd.DataFrame:
    """Rows with every target present; refusing a table that has none, which nothing can learn or score
    (`instead` says what the user can do then)."""
    no_target = frame[targets].isna().any(axis=1).to_numpy()
    if no_target.all():
        raise no_labelled_rows(targets, source, len(frame), instead)
    if no_target.any():
        notes.append(f"{source}: dropped {counted(int(no_target.sum()), 'row')} with a missing target "
                     f"(first on {place(frame.index, frame.index[no_target][0])})")
        frame = frame[~no_target]
    return frame


def no_labelled_rows(targets: list[str], source: str, rows: int, instead: str) -> DataError:
    """The error for a table whose `rows` rows all miss a target."""
    named = ", ".join(map(repr, targets))
    return DataError(f"{source}: no labelled rows: the target {'columns' if len(targets) > 1 else 'column'} "
                     f"{named} {'are' if len(targets) > 1 else 'is'} missing in all "
                     f"{counted(rows, 'row')}; fill in the target, or {instead}")


class Inference(NamedTuple):
    x: np.ndarray               # prepared features
    y: np.ndarray | None        # encoded targets, for eval
    notes: list[str]            # what the user should know (ignored columns, unseen categories, skipped rows)
    lines: np.ndarray           # line number of each prepared row in its file


UNLABELLED_INSTEAD = "use nntrain predict for unlabelled rows"


class Tally:
    """What the chunks of one input add up to, for the notes and errors a whole-table read gives once: rows
    without a target (and where the first is), and the rows skipped."""

    def __init__(self):
        self.rows = self.unlabelled = 0
        self.first_unlabelled: str | None = None
        self.skipped: list[tuple] = []
        self.index = pd.Index([])  # named like the chunks' index: "row" for Parquet, for `place`

    def labelled(self, frame: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
        """The rows of a chunk with every target present, counting the others."""
        no_target = frame[targets].isna().any(axis=1).to_numpy()
        self.rows += len(frame)
        if no_target.any():
            self.first_unlabelled = self.first_unlabelled or place(frame.index, frame.index[no_target][0])
            self.unlabelled += int(no_target.sum())
            frame = frame[~no_target]
        return frame

    def notes(self, source: str, targets: list[str]) -> list[str]:
        """The notes of the whole input; refuses one whose rows all lack a target."""
        notes = []
        if self.unlabelled and self.unlabelled == self.rows:
            raise no_labelled_rows(targets, source, self.rows, UNLABELLED_INSTEAD)
        if self.unlabelled:
            notes.append(f"{source}: dropped {counted(self.unlabelled, 'row')} with a missing target "
                         f"(first on {self.first_unlabelled})")
        if self.skipped:
            notes.append(_skipped_note(self.skipped, self.index))
        return notes


def prepare_inference(frame: pd.DataFrame, state: dict, *, source: str, with_target: bool, dtype,
                      skip_bad: bool = False, tally: Tally | None = None) -> Inference:
    """Features (and targets, for eval) of new rows, prepared exactly as in training.

    Rows the fitted pipeline cannot turn into numbers are an error naming the first, or with
    `skip_bad` are left out and listed in a note. For one chunk of a larger input, pass the `tally`
    of all its chunks: the rows without a target and the skipped rows are then counted there, for
    `Tally.notes` after the last chunk, instead of noted (or refused) chunk by chunk.
    """
    inputs, targets = state["input_columns"], state["target"]["columns"]
    check_columns(frame, inputs, source, "feature")
    notes = []
    extra = [c for c in frame.columns if c not in inputs and c not in targets]
    if extra:
        notes.append(f"ignored {len(extra)} column{'s' if len(extra) > 1 else ''} the model does not use: "
                     f"{', '.join(map(str, extra[:5]))}{' ...' if len(extra) > 5 else ''}")
    steps = Pipeline(state["pipeline"]["steps"])
    if with_target:
        check_columns(frame, targets, source, "target")
        frame = steps.clean_targets(frame[inputs + targets], targets)
        if tally is None:
            frame = _drop_missing_target(frame, targets, source, notes, UNLABELLED_INSTEAD)
        elif len(frame := tally.labelled(frame, targets)) == 0:
            return Inference(np.empty((0, len(state["features"])), dtype=dtype), None, notes, np.empty(0, np.int64))
    else:
        frame = frame[inputs]
    frame = _float32_as_in_training(frame, state)
    frame, bad_inputs = _coerce_numeric_inputs(frame, state, steps, source, skip_bad)
    frame, bad_values = refuse_unrepresentable(frame, state["numeric_inputs"], source, dtype, skip_bad)
    ctx = Context(target=targets if with_target else [], training=False)
    frame = steps.transform(frame, state["pipeline"]["states"], ctx)
    notes += ctx.notes
    x, keep, bad_features = to_matrix(frame, state["features"], source, dtype, skip_bad=skip_bad)
    skipped = sorted(bad_inputs + bad_values + bad_features)
    if skipped and tally is None:
        notes.append(_skipped_note(skipped, frame.index))
    elif skipped:
        tally.skipped += skipped  # chunks come in order, so the whole list stays sorted by line
        tally.index = frame.index[:0]
    frame = frame[keep]
    y = encode_target(frame, state["target"], dtype, source) if with_target else None
    return Inference(x, y, notes, frame.index.to_numpy())


def _float32_as_in_training(frame: pd.DataFrame, state: dict) -> pd.DataFrame:
    """The numbers of a column the model read as float32 that text in some row made a text column, rounded
    to float32 as the float32 parse of the other rows (and of training) gives them: a row's features must not
    depend on what other rows hold, nor on how the input is cut into chunks. The text stays, for the
    messages and clean steps that name it."""
    changed = {}
    for name in state.get("float32_inputs", ()):
        column = frame[name]
        if is_numeric(column):
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        parsed = numbers.notna().to_numpy()
        if parsed.any():
            values = column.to_numpy(dtype=object, copy=True)
            values[parsed] = numbers.to_numpy()[parsed].astype(np.float32).astype(np.float64)
            changed[name] = pd.Series(values, index=column.index, dtype=object)
    return frame.assign(**changed) if changed else frame


def _coerce_numeric_inputs(frame: pd.DataFrame, state: dict, steps: Pipeline, source: str, skip_bad: bool):
    """Columns that were numbers in training must be numbers now, unless a clean step handles text.

    Returns the frame (bad rows dropped when skipping) and (line, column, value) of each bad row.
    """
    if steps.cleans:
        return frame, []
    bad_rows = pd.Series(False, index=frame.index)
    details = []
    for name in state["numeric_inputs"]:
        column = frame[name]
        if is_numeric(column):
            continue
        text = pd.to_numeric(column, errors="coerce").isna() & column.notna()
        if text.any() and not skip_bad:
            raise DataError(f"{source}: {_text_problem(column, name)}")
        details += [(line, name, column[line]) for line in column.index[(text & ~bad_rows).to_numpy()]]
        bad_rows |= text
        frame = frame.assign(**{name: pd.to_numeric(column, errors="coerce")})
    return frame[~bad_rows.to_numpy()], details


def refuse_unrepresentable(frame: pd.DataFrame, columns: list[str], source: str, dtype,
                     skip_bad: bool = False) -> tuple[pd.DataFrame, list[tuple]]:
    """Refuse infinite values, and for a float32 model numbers beyond float32's range, in raw numeric columns.

    Checked before the pipeline, whose statistics one such value would make infinite for the whole
    column. With `skip_bad`, returns the frame without such rows and (line, column, value) of each.
    """
    limit = FLOAT32_MAX if np.dtype(dtype) == np.float32 else np.inf
    written = frame.attrs.get("as_written", {})  # the file's own spelling of values beyond float32, from read_csv
    bad_rows = np.zeros(len(frame), dtype=bool)
    details = []
    for name in columns:
        values = frame[name].to_numpy()
        if values.dtype.kind != "f":
            continue
        bad = np.isinf(values) if limit == np.inf else (values > limit) | (values < -limit)
        if not bad.any():
            continue
        if not skip_bad:
            first = int(np.argmax(bad))
            alike = np.isinf(values) if np.isinf(values[first]) else bad & np.isfinite(values)
            line = frame.index[first]
            problem = _range_problem(name, float(values[first]), place(frame.index, line), int(alike.sum()),
                                     written.get((name, line)))
            raise DataError(f"{source}: {problem}")
        fresh = bad & ~bad_rows
        details += [(line, name, written.get((name, line), value)) for line, value in
                    zip(frame.index[fresh], values[fresh])]
        bad_rows |= bad
    return (frame[~bad_rows] if bad_rows.any() else frame), details


def _range_problem(name: str, value: float, at: str, count: int, written: str | None = None) -> str:
    """The message for an infinite or too large value at `at` ('line 5', 'row 4')."""
    if np.isinf(value):
        where = f"an infinite value on {at}" if count == 1 else f"{counted(count, 'infinite value')}, first on {at}"
        return f"column {name!r} has {where} ({value}); fix the file"
    more = "" if count == 1 else f" ({counted(count, 'such value')})"
    return (f"column {name!r} has {written or repr(value)} on {at}, beyond float32's range (±3.4e38){more}; "
            "fix the file, or train with engine.dtype: float64")


def to_matrix(frame: pd.DataFrame, columns: list[str], source: str, dtype, skip_bad: bool = False,
              rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """The feature matrix (of the `rows` mask, if given), refusing text, missing and infinite values
    with the line they are on.

    With `skip_bad`, such rows are left out instead: returns the matrix of good rows, which rows
    were kept, and (line, column, value) of each skipped row.
    """
    lines = frame.index if rows is None else frame.index[rows]
    values = np.empty((len(lines), len(columns)), dtype=dtype)
    for index, name in enumerate(columns):  # column by column: no full-size temporary
        column = frame[name]
        if not is_numeric(column):
            numbers = pd.to_numeric(column, errors="coerce")
            # text anywhere in the column is refused, not only in `rows`, so the message names it
            # whichever split its row landed in
            if not skip_bad and (numbers.isna() & column.notna()).any():
                raise DataError(f"{source}: {_text_problem(column, name)}")
            column = numbers
        with np.errstate(over="ignore"):  # a number beyond float32 becomes inf, reported below
            numbers = column.to_numpy(dtype=dtype, na_value=np.nan)
        values[:, index] = numbers if rows is None else numbers[rows]
    finite = np.isfinite(values)
    keep = finite.all(axis=1)
    if keep.all():
        return values, keep, []
    bad = ~finite
    if not skip_bad:
        first_rows, cols = np.nonzero(bad)
        name, line = _shown(columns[cols[0]]), lines[first_rows[0]]
        count = int(bad[:, cols[0]].sum())
        value = values[first_rows[0], cols[0]]
        if np.isnan(value):
            raise DataError(f"{source}: column {name!r} has {counted(count, 'missing value')}, first on "
                            f"{place(lines, line)}; fill them with a clean step (missing: mean, median, mode or constant), "
                            "or fix the file")
        position = first_rows[0] if rows is None else np.flatnonzero(rows)[first_rows[0]]
        before = frame[columns[cols[0]]].iloc[position]  # finite if it only overflowed float32
        raise DataError(f"{source}: {_range_problem(name, float(before), place(lines, line), count)}")
    details = []
    for row in np.flatnonzero(~keep):
        name = columns[int(np.argmax(bad[row]))]
        details.append((frame.index[row], _shown(name), frame[name].iloc[row] if name in frame else None))
    return values[keep], keep, details


def _skipped_note(skipped: list[tuple], index: pd.Index, shown: int = 5) -> str:
    listed = "; ".join(f"{place(index, line)}: {name!r} is {_value(value)}" for line, name, value in skipped[:shown])
    more = f"; and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"skipped {counted(len(skipped), 'row')} that cannot be predicted ({listed}{more})"


def _value(value) -> str:
    if value is None or pd.isna(value):
        return "missing"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _shown(name: str) -> str:
    """The input column a prepared feature came from ('color' for the one-hot 'color=red')."""
    return name.split("=", 1)[0]


def _text_problem(column: pd.Series, name: str) -> str:
    numbers = pd.to_numeric(column, errors="coerce")
    text = numbers.isna() & column.notna()
    first = column.index[text.to_numpy()][0]
    if numbers.notna().sum() >= text.sum():
        return (f"column {name!r} holds numbers but {place(column.index, first)} has {column[first]!r} "
                f"({counted(int(text.sum()), 'such row')}); fix the file, or add a clean step to treat them as missing")
    return (f"column {name!r} is not numeric (e.g. {column[first]!r} on {place(column.index, first)}); "
            "encode it ({type: encode} in data.pipeline) or drop it ({type: drop, columns: [...]})")
