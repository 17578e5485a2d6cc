"""Pipeline steps: each is fitted on the training rows, and its state replayed on any later table.

A step has `fit(frame, ctx) -> state` and `transform(frame, state, ctx) -> frame`.
State is plain data (numbers, strings, lists) so it is saved in the checkpoint as
JSON and `eval` and `predict` transform new rows exactly as training rows were.
Steps see feature columns and the target columns (named in `ctx.target`) and
never change the target. Rows are only ever removed while training
(`ctx.training`): at predict time every input row gets an output row.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Context:
    """What a step knows about the table it works on."""

    target: list[str]
    training: bool
    notes: list[str] = field(default_factory=list)

    def features(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c not in self.target]


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


class Clean:
    """Missing feature values: drop the rows (while training) or fill them with a statistic."""

    def __init__(self, missing: str = "drop", value=None):
        self.missing = missing
        self.value = value

    def fit(self, frame, ctx):
        if self.missing == "drop":
            return {}
        fills = {}
        for name in ctx.features(frame):
            column = frame[name]
            fills[name] = self._fill_value(column)
        return {"fill": fills}

    def _fill_value(self, column: pd.Series):
        if self.missing == "constant":
            return self.value
        if not is_numeric(column) or self.missing == "mode":
            modes = column.mode(dropna=True)
            return _plain(modes.iloc[0]) if len(modes) else None
        statistic = column.mean() if self.missing == "mean" else column.median()
        return None if pd.isna(statistic) else float(statistic)

    def transform(self, frame, state, ctx):
        features = ctx.features(frame)
        if self.missing == "drop":
            if ctx.training:
                frame = frame.dropna(subset=features)
            return frame
        fills = {name: value for name, value in state["fill"].items() if name in frame and value is not None}
        return frame.fillna(fills)


class Dedupe:
    """Exact duplicate rows (features and target) are dropped while training, keeping the first."""

    def fit(self, frame, ctx):
        return {}

    def transform(self, frame, state, ctx):
        if not ctx.training:
            return frame
        return frame[~frame.duplicated(keep="first")]


class Normalize:
    """Scale numeric feature columns with training statistics; constant columns map to 0."""

    def __init__(self, method: str = "zscore"):
        self.method = method

    def fit(self, frame, ctx):
        columns = [c for c in ctx.features(frame) if is_numeric(frame[c])]
        values = frame[columns].astype("float64")
        if self.method == "zscore":
            center, scale = values.mean(), values.std(ddof=0)
        else:
            center, scale = values.min(), values.max() - values.min()
        scale = scale.where(scale > 0, 1.0)
        return {"columns": columns, "center": _floats(center), "scale": _floats(scale)}

    def transform(self, frame, state, ctx):
        columns = [c for c in state["columns"] if c in frame]
        if not columns:
            return frame
        frame = frame.copy()
        center = pd.Series(state["center"], index=state["columns"])[columns]
        scale = pd.Series(state["scale"], index=state["columns"])[columns]
        frame[columns] = (frame[columns].astype("float64") - center) / scale
        return frame


def _floats(series: pd.Series) -> list[float]:
    return [float(v) for v in series.to_numpy(dtype="float64")]


def _plain(value):
    """A numpy or pandas scalar as a plain Python value, for JSON state."""
    return value.item() if isinstance(value, np.generic) else value


STEPS = {
    "clean": Clean,
    "dedupe": Dedupe,
    "normalize": Normalize,
}


class Pipeline:
    """The configured steps, in order."""

    def __init__(self, specs: list[dict]):
        self.specs = specs
        self.steps = []
        for spec in specs:
            options = dict(spec)
            self.steps.append(STEPS[options.pop("type")](**options))

    def fit_transform(self, frame: pd.DataFrame, is_train: pd.Series, ctx: Context):
        """Fit each step on the training rows of `frame`, transforming all of it as it goes."""
        states, drops = [], []
        for spec, step in zip(self.specs, self.steps):
            train_rows = frame[is_train.reindex(frame.index)]
            state = step.fit(train_rows, ctx)
            before = len(frame)
            frame = step.transform(frame, state, ctx)
            states.append(state)
            drops.append((spec["type"], before - len(frame)))
        return frame, states, drops

    def transform(self, frame: pd.DataFrame, states: list[dict], ctx: Context) -> pd.DataFrame:
        for step, state in zip(self.steps, states):
            frame = step.transform(frame, state, ctx)
        return frame
