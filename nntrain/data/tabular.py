"""Turn a table into training arrays, and replay exactly the same preparation on new tables.

Training: select columns, drop rows without a target, split (seeded,
stratified), fit the pipeline on the training rows, encode targets, and check
that every feature is a finite number. Everything learnt is returned as plain
`state`, which `prepare_inference` replays for eval and predict.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nntrain.data.pipeline import Context, Pipeline, is_numeric
from nntrain.data.split import SPLIT_NAMES, TEST, TRAIN, VALIDATION, split_rows
from nntrain.data.targets import encode_target, fit_target, infer_task, label_strings
from nntrain.errors import DataError


@dataclass
class TrainingData:
    x: dict[str, np.ndarray]         # "train", "validation", "test" feature matrices
    y: dict[str, np.ndarray]         # matching targets
    test_rows: pd.DataFrame          # raw rows of the test split, re-evaluated by `nntrain eval RUN`
    state: dict                      # everything needed to prepare new rows the same way
    notes: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)


def check_columns(frame: pd.DataFrame, wanted: list[str], source: str, role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing {role} column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(repr, missing))}; the file has: {', '.join(map(str, frame.columns))}")


def prepare_training(frame: pd.DataFrame, *, source: str, target: str | list[str], features: list[str] | None,
                     task: str, loss: str | None, validation: float, test: float, stratify: bool,
                     pipeline: list[dict], target_transform: str, rng: np.random.Generator,
                     dtype) -> TrainingData:
    targets = [target] if isinstance(target, str) else list(target)
    check_columns(frame, targets, source, "target")
    if features is not None:
        check_columns(frame, features, source, "feature")
    features = features if features is not None else [c for c in frame.columns if c not in targets]
    if not features:
        raise DataError(f"{source}: no feature columns left besides the target {targets}")
    notes: list[str] = []
    rows_read = len(frame)
    frame = frame[features + targets]
    no_target = frame[targets].isna().any(axis=1)
    if no_target.any():
        notes.append(f"dropped {int(no_target.sum())} rows with a missing target (first on line "
                     f"{frame.index[no_target.to_numpy()][0]})")
        frame = frame[~no_target]
    task, task_note = infer_task(frame, targets, task, loss)
    if task_note:
        notes.append(task_note)
    transform = "zscore" if target_transform == "auto" else target_transform
    target_state = fit_target(frame, targets, task, transform) if task != "regression" else None

    groups = np.zeros(len(frame), dtype=np.int64)
    if task == "classification" and stratify:
        groups = pd.Categorical(label_strings(frame[targets[0]]), categories=target_state["classes"]).codes
        groups = groups.astype(np.int64)
    codes = pd.Series(split_rows(groups, validation, test, rng), index=frame.index)

    steps = Pipeline(pipeline)
    ctx = Context(target=targets, training=True)
    prepared, states, drops = steps.fit_transform(frame, codes == TRAIN, ctx)
    notes += ctx.notes
    codes = codes.reindex(prepared.index)
    for code, fraction in ((TRAIN, 1), (VALIDATION, validation), (TEST, test)):
        if fraction and not (codes == code).any():
            raise DataError(f"{source}: the {SPLIT_NAMES[code]} split is empty ({len(prepared)} usable rows); "
                            f"add rows or set data.split.{SPLIT_NAMES[code]}: 0")
    if task == "regression":
        target_state = fit_target(prepared[codes == TRAIN], targets, task, transform)
    feature_names = [c for c in prepared.columns if c not in targets]
    x_all = to_matrix(prepared, feature_names, source, dtype)
    y_all = encode_target(prepared, target_state, dtype, source)
    masks = {name: (codes == code).to_numpy() for code, name in enumerate(SPLIT_NAMES)}
    state = {
        "input_columns": features,
        "target": target_state,
        "pipeline": {"steps": pipeline, "states": states},
        "features": feature_names,
    }
    report = {"rows_read": rows_read, "rows_used": len(prepared), "dropped_by_step": drops,
              "split_rows": {name: int(mask.sum()) for name, mask in masks.items()}}
    return TrainingData(
        x={name: x_all[mask] for name, mask in masks.items()},
        y={name: y_all[mask] for name, mask in masks.items()},
        test_rows=frame.loc[prepared.index[masks["test"]]],
        state=state, notes=notes, report=report)


def prepare_inference(frame: pd.DataFrame, state: dict, *, source: str, with_target: bool,
                      dtype) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Features (and targets, for eval) of new rows, prepared exactly as in training."""
    inputs, targets = state["input_columns"], state["target"]["columns"]
    check_columns(frame, inputs, source, "feature")
    notes = []
    extra = [c for c in frame.columns if c not in inputs and c not in targets]
    if extra:
        notes.append(f"ignored {len(extra)} column{'s' if len(extra) > 1 else ''} the model does not use: "
                     f"{', '.join(map(str, extra[:5]))}{' ...' if len(extra) > 5 else ''}")
    if with_target:
        check_columns(frame, targets, source, "target")
        frame = frame[inputs + targets]
        no_target = frame[targets].isna().any(axis=1)
        if no_target.any():
            notes.append(f"skipped {int(no_target.sum())} rows with a missing target")
            frame = frame[~no_target]
    else:
        frame = frame[inputs]
    ctx = Context(target=targets if with_target else [], training=False)
    frame = Pipeline(state["pipeline"]["steps"]).transform(frame, state["pipeline"]["states"], ctx)
    notes += ctx.notes
    x = to_matrix(frame, state["features"], source, dtype)
    y = encode_target(frame, state["target"], dtype, source) if with_target else None
    return x, y, notes


def to_matrix(frame: pd.DataFrame, columns: list[str], source: str, dtype) -> np.ndarray:
    """The feature matrix, refusing text, missing and infinite values with the line they are on."""
    for name in columns:
        if not is_numeric(frame[name]):
            raise DataError(f"{source}: {_text_problem(frame[name], name)}")
    values = frame[columns].to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        name, line = columns[cols[0]], frame.index[rows[0]]
        count = int(bad[:, cols[0]].sum())
        value = values[rows[0], cols[0]]
        what = "missing values" if np.isnan(value) else f"infinite values ({value})"
        hint = "add {type: clean} to data.pipeline to fill or drop them" if np.isnan(value) else "fix the file"
        raise DataError(f"{source}: column {name!r} has {count} {what}, first on line {line}; {hint}")
    return values.astype(dtype)


def _text_problem(column: pd.Series, name: str) -> str:
    numbers = pd.to_numeric(column, errors="coerce")
    text = numbers.isna() & column.notna()
    first = column.index[text.to_numpy()][0]
    if numbers.notna().sum() >= text.sum():
        return (f"column {name!r} holds numbers but line {first} has {column[first]!r} "
                f"({int(text.sum())} such rows); fix the file, or add a clean step to treat them as missing")
    return (f"column {name!r} is not numeric (e.g. {column[first]!r} on line {first}); "
            f"drop it from data.features or encode it")
