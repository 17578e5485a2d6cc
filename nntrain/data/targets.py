"""Targets: infer the task, encode target columns for training, decode predictions.

Target state is plain data saved in the checkpoint:
  classification: {"task", "columns", "classes"}      class names as strings, sorted
  multilabel:     {"task", "columns"}                 0/1 columns
  regression:     {"task", "columns", "transform", "center", "scale"}
"""

import numpy as np
import pandas as pd

from nntrain.data.step import place
from nntrain.errors import ConfigError, DataError
from nntrain.nn.losses import LOSSES

MAX_INFERRED_CLASSES = 20


def infer_task(frame: pd.DataFrame, columns: list[str], task: str, loss: str | None) -> tuple[str, str | None]:
    """The task to train, and a note explaining the choice when it was inferred from the data."""
    if task != "auto":
        return task, None
    if loss is not None:
        tasks = LOSSES[loss].tasks
        if len(tasks) > 1:  # binary cross-entropy: one label is a classification, several are multilabel
            return ("multilabel" if len(columns) > 1 else "classification"), None
        (task,) = tasks
        if task == "regression":
            for name in columns:
                column = frame[name].dropna()
                if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                    raise ConfigError(f"loss: {loss} is a regression loss, but target {name!r} holds categories "
                                      f"(e.g. {column.iloc[0]!r}); use loss: cross_entropy to classify")
        return task, None
    if len(columns) > 1:
        return "regression", f"task: regression ({len(columns)} target columns); set task: multilabel for 0/1 labels"
    column = frame[columns[0]].dropna()
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return "classification", None
    values = column.to_numpy()
    distinct = len(np.unique(values))
    if np.all(np.mod(values, 1) == 0) and distinct <= MAX_INFERRED_CLASSES:
        return "classification", (f"task: classification (target {columns[0]!r} has {distinct} distinct integer "
                                  "values); set task: regression to predict numbers")
    return "regression", None


def label_strings(column: pd.Series) -> pd.Series:
    """Class labels as strings; whole floats (1.0, read so because of gaps) become '1'."""
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy()
        if np.all(np.mod(values[~np.isnan(values)], 1) == 0):
            column = column.astype("Int64")
    return column.astype(str)


def fit_target(frame: pd.DataFrame, columns: list[str], task: str, transform: str) -> dict:
    """Learn what encoding the target needs: class names, or regression scaling (from training rows)."""
    if task == "classification":
        labels = label_strings(frame[columns[0]])
        numeric = pd.api.types.is_numeric_dtype(frame[columns[0]]) and not pd.api.types.is_bool_dtype(frame[columns[0]])
        unique = labels.unique().tolist()
        classes = sorted(unique, key=float) if numeric else sorted(unique)
        if len(classes) < 2:
            raise DataError(f"target {columns[0]!r} has a single class {classes[0]!r}; "
                            "classification needs at least two")
        return {"task": task, "columns": columns, "classes": classes}
    if task == "multilabel":
        return {"task": task, "columns": columns}
    values = _regression_values(frame, columns)
    if transform == "log":
        if np.any(values <= 0):
            raise DataError(f"target_transform: log needs positive targets, but {columns} has values <= 0")
        values = np.log(values)
    if transform == "none":
        center, scale = np.zeros(len(columns)), np.ones(len(columns))
    else:
        center, scale = values.mean(axis=0), values.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
    return {"task": task, "columns": columns, "transform": transform,
            "center": [float(v) for v in center], "scale": [float(v) for v in scale]}


def _regression_values(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    for name in columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            bad = pd.to_numeric(frame[name], errors="coerce").isna()
            line = frame.index[bad.to_numpy()][0]
            raise DataError(f"regression target {name!r} must be numeric, but {place(frame.index, line)} has "
                            f"{frame.loc[line, name]!r}; set task: classification to predict categories")
    return frame[columns].to_numpy(dtype="float64")


def encode_target(frame: pd.DataFrame, state: dict, dtype, source: str) -> np.ndarray:
    """Training targets: class indices (N,), 0/1 labels (N, K), or scaled values (N, T)."""
    columns = state["columns"]
    if state["task"] == "classification":
        labels = label_strings(frame[columns[0]])
        codes = pd.Index(state["classes"]).get_indexer(labels).astype(np.int64)
        if np.any(codes < 0):
            unknown = sorted(set(labels[codes < 0]))
            raise DataError(f"{source}: target {columns[0]!r} has classes the model was not trained on: "
                            f"{', '.join(map(repr, unknown[:5]))}; known classes: {', '.join(state['classes'])}")
        return codes
    if state["task"] == "multilabel":
        values = frame[columns].astype("float64").to_numpy()
        if not np.isin(values, (0, 1)).all():
            raise DataError(f"{source}: multilabel targets {columns} must hold only 0 and 1")
        return values.astype(dtype)
    values = _regression_values(frame, columns)
    if state["transform"] == "log":
        values = np.log(values)
    return ((values - state["center"]) / state["scale"]).astype(dtype)


def decode_regression(outputs: np.ndarray, state: dict) -> np.ndarray:
    """Model outputs back to the target's own units."""
    values = outputs.astype("float64") * state["scale"] + state["center"]
    return np.exp(values) if state["transform"] == "log" else values


def output_units(state: dict, loss: str) -> int:
    """Size of the output layer for this target and loss."""
    if state["task"] == "classification":
        return 1 if LOSSES[loss].one_output_per_label else len(state["classes"])
    return len(state["columns"])
