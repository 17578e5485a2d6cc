"""The `clean` step: markers and unparsable numbers become missing, then rows are dropped or values filled."""

import numpy as np
import pandas as pd

from nntrain.data.dates import DATE_SHARE, detect_formats
from nntrain.data.step import first_line, is_numeric, names, place
from nntrain.errors import DataError
from nntrain.words import counted

DEFAULT_MARKERS = ["?", "-", "--"]

NUMERIC_SHARE = 0.5  # a text column is numeric if at least half its present values parse as numbers


class Clean:
    """Missing values: markers such as '?' and unparsable numbers become missing, then rows are dropped
    (while training) or values filled, per column kind or per column.

    A column with no value in the training rows carries no information and has nothing to fill
    with: it is removed (with a note) and is no feature. The markers also apply to the target
    columns, through `Pipeline.clean_targets`: a marker there is a missing target.
    """

    def __init__(self, missing: str = "drop", categorical: str | None = None, value=None,
                 categorical_value: str = "missing", columns: dict | None = None, indicator: bool = False,
                 markers: list[str] | None = None):
        self.missing, self.value = missing, value
        self.categorical = categorical or ("mode" if missing in ("mean", "median") else missing)
        self.categorical_value = categorical_value
        self.columns = columns or {}
        self.indicator = indicator
        self.markers = DEFAULT_MARKERS if markers is None else markers

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        unknown = [c for c in ctx.named(list(self.columns)) if c not in features]
        if unknown:
            raise DataError(f"clean: no feature column {', '.join(map(repr, unknown))}; "
                            f"the features are {', '.join(map(str, features))}")
        state = {"kinds": {}, "markers": self.markers, "strategy": {}, "fill": {}, "indicators": [], "empty": []}
        for name in features:
            column = ctx.learn(frame, name)
            kind = "numeric" if _looks_numeric(column, self.markers) else "categorical"
            values, _ = _coerce_column(column, kind, self.markers)
            if not values.notna().any():
                state["empty"].append(name)
                continue
            strategy, value = self._rule(name, kind)
            state["kinds"][name] = kind
            state["strategy"][name] = strategy
            if strategy != "drop":
                state["fill"][name] = value if strategy == "constant" else _statistic(values, strategy)
            if self.indicator and strategy != "drop" and values.isna().any():
                state["indicators"].append(name)
        self._note_dates([name for name, kind in state["kinds"].items() if kind == "categorical"], frame, ctx)
        if state["empty"]:
            ctx.emptied.update(state["empty"])
            ctx.notes.append(f"clean: {names('column', state['empty'])} "
                             f"{'is' if len(state['empty']) == 1 else 'are'} empty in the training rows; "
                             f"dropped {'it' if len(state['empty']) == 1 else 'them'}")
        return state

    @staticmethod
    def _note_dates(categorical: list[str], frame, ctx) -> None:
        """Say which text columns hold dates: as categories, a date never seen in training means nothing."""
        dates = [name for name in categorical if detect_formats(ctx.learn(frame, name))[1] >= DATE_SHARE]
        if dates:
            ctx.notes.append(f"clean: {names('column', dates)} {'holds' if len(dates) == 1 else 'hold'} dates; put "
                             f"{{type: dates, columns: [{', '.join(dates)}]}} before clean to learn from "
                             f"{'its' if len(dates) == 1 else 'their'} year, month and weekday rather than from "
                             "categories")

    def fates(self, state) -> dict[str, dict]:
        return {name: {"fate": "empty"} for name in state.get("empty", ())}

    def _rule(self, name: str, kind: str):
        rule = self.columns.get(name)
        if rule is not None:
            return rule["missing"], rule.get("value")
        if kind == "numeric":
            return self.missing, self.value
        return self.categorical, self.categorical_value

    def transform(self, frame, state, ctx):
        frame = frame.drop(columns=[c for c in state.get("empty", ()) if c in frame])  # a shallow copy
        for name, kind in state["kinds"].items():
            if name not in frame:
                continue
            values, bad = _coerce_column(frame[name], kind, state["markers"])
            if bad.any():
                line = first_line(bad)
                ctx.notes.append(f"clean: {counted(int(bad.sum()), 'unparsable value')} in numeric column "
                                 f"{name!r} treated as missing (e.g. {frame[name][line]!r} on {place(bad.index, line)})")
            if values is not frame[name]:
                frame[name] = values
        for name in state["indicators"]:
            if name in frame:
                frame[f"{name}_missing"] = frame[name].isna().astype("float64")
        for name, value in state["fill"].items():
            if name in frame and value is not None and frame[name].hasnans:
                frame[name] = frame[name].fillna(value)
        dropped = [name for name, strategy in state["strategy"].items() if strategy == "drop" and name in frame]
        if ctx.training and dropped:
            frame = frame.dropna(subset=dropped)
        return frame

def _coerce_column(column: pd.Series, kind: str, markers: list[str]) -> tuple[pd.Series, pd.Series]:
    """Markers to missing, and for numeric columns text to numbers; also which cells were unparsable."""
    if is_numeric(column):
        return column, pd.Series(False, index=column.index)
    column = column.mask(column.isin(markers))
    if kind != "numeric":
        return column, pd.Series(False, index=column.index)
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers, numbers.isna() & column.notna()

def _looks_numeric(column: pd.Series, markers: list[str]) -> bool:
    if is_numeric(column):
        return True
    return mostly_numbers(pd.to_numeric(column[column.notna() & ~column.isin(markers)], errors="coerce"))

def mostly_numbers(parsed: pd.Series) -> bool:
    """Whether present text cells, parsed by `pd.to_numeric(errors="coerce")`, make a numeric column:
    at least NUMERIC_SHARE of them are numbers (the rest are typos, treated as missing by clean)."""
    return len(parsed) > 0 and parsed.notna().mean() >= NUMERIC_SHARE

def _statistic(column: pd.Series, strategy: str):
    present = column.dropna()
    if present.empty:
        return None
    if strategy == "mode":
        return _plain(present.mode().iloc[0])
    return float(present.mean() if strategy == "mean" else present.median())

def _plain(value):
    """A numpy or pandas scalar as a plain Python value, for JSON state."""
    return value.item() if isinstance(value, np.generic) else value
