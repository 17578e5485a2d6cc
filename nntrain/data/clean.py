"""The `clean` step: markers and unparsable numbers become missing, then rows are dropped or values filled."""

import zlib
from functools import partial

import numpy as np
import pandas as pd

from nntrain.data.dates import DATE_SHARE, detect_formats
from nntrain.data.step import CountNote, first_line, is_numeric, names, place
from nntrain.data.summaries import Counts, Moments, Reservoir
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
        features = self._features(frame, ctx)
        return self._state(((name, _HeldColumn(ctx.learn(frame, name), self.markers)) for name in features), ctx,
                           frame)

    def fit_chunks(self, chunks, ctx):
        columns = None
        for frame in chunks:
            if columns is None:
                columns = {name: _StreamedColumn(frame[name], self.markers, self._rule(name, "numeric")[0],
                                                 self._rule(name, "categorical")[0], name)
                           for name in self._features(frame, ctx)}
            for name, column in columns.items():
                column.add(ctx.learn(frame, name))
        return self._state(columns.items(), ctx)

    def chunk_transform(self, state, ctx):
        return _StreamedClean(self, state, ctx)

    def _features(self, frame, ctx) -> list[str]:
        features = ctx.features(frame)
        unknown = [c for c in ctx.named(list(self.columns)) if c not in features]
        if unknown:
            raise DataError(f"clean: no feature column {', '.join(map(repr, unknown))}; "
                            f"the features are {', '.join(map(str, features))}")
        return features

    def _state(self, columns, ctx, frame=None) -> dict:
        """The state from what each feature column's training rows hold (`_HeldColumn` or `_StreamedColumn`);
        with the whole `frame` at hand, also a note naming text columns that hold dates."""
        state = {"kinds": {}, "markers": self.markers, "strategy": {}, "fill": {}, "indicators": [], "empty": []}
        for name, column in columns:
            kind = column.kind
            if not column.present(kind):
                state["empty"].append(name)
                continue
            strategy, value = self._rule(name, kind)
            state["kinds"][name] = kind
            state["strategy"][name] = strategy
            if strategy != "drop":
                state["fill"][name] = value if strategy == "constant" else column.statistic(kind, strategy)
            if self.indicator and strategy != "drop" and column.has_missing(kind):
                state["indicators"].append(name)
        if frame is not None:
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

    def transform(self, frame, state, ctx, tally: dict | None = None):
        """`tally`, if given, sums up the unparsable values ({column: [count, example, place]}) instead of noting them."""
        frame = frame.drop(columns=[c for c in state.get("empty", ()) if c in frame])  # a shallow copy
        own = {} if tally is None else tally
        for name, kind in state["kinds"].items():
            if name not in frame:
                continue
            values, bad = _coerce_column(frame[name], kind, state["markers"])
            if bad.any():
                line = first_line(bad)
                seen = own.setdefault(name, [0, frame[name][line], place(bad.index, line)])
                seen[0] += int(bad.sum())
            if values is not frame[name]:
                frame[name] = values
        if tally is None:
            _note_unparsable(own, ctx)
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

def _note_unparsable(tally: dict, ctx) -> None:
    for name, (count, example, where) in tally.items():
        ctx.notes.append(CountNote(("clean", name), count, partial(_unparsable, name, example, where)))


def _unparsable(name: str, example, where: str, count: int) -> str:
    return (f"clean: {counted(count, 'unparsable value')} in numeric column {name!r} treated as missing "
            f"(e.g. {example!r} on {where})")


class _StreamedClean:
    """Clean chunk by chunk, noting the unparsable values of all chunks at once, as for the whole table."""

    def __init__(self, step: Clean, state: dict, ctx):
        self.step, self.state, self.ctx, self.tally = step, state, ctx, {}

    def __call__(self, frame):
        return self.step.transform(frame, self.state, self.ctx, tally=self.tally)

    def finish(self) -> None:
        _note_unparsable(self.tally, self.ctx)


class _HeldColumn:
    """A feature column's training rows, in memory."""

    def __init__(self, column: pd.Series, markers: list[str]):
        self.kind = "numeric" if _looks_numeric(column, markers) else "categorical"
        self.values, _ = _coerce_column(column, self.kind, markers)

    def present(self, kind: str) -> bool:
        return bool(self.values.notna().any())

    def has_missing(self, kind: str) -> bool:
        return bool(self.values.isna().any())

    def statistic(self, kind: str, strategy: str):
        return _statistic(self.values, strategy)


class _StreamedColumn:
    """What clean learns from a feature column seen chunk by chunk. A text column's kind is known only at
    the end, so it is summed up both as numbers and as text, each as its strategy needs."""

    def __init__(self, first: pd.Series, markers: list[str], numeric: str, categorical: str, name: str):
        self.markers, self.numeric_dtype = markers, is_numeric(first)
        self.present_text = self.parsed = 0  # present cells of a text column, and how many are numbers
        rng = np.random.default_rng(zlib.crc32(str(name).encode()))  # a seeded sample, the same every run
        self.summaries = {"numeric": _Summary(numeric, rng)}
        if not self.numeric_dtype:
            self.summaries["categorical"] = _Summary(categorical, rng)

    def add(self, column: pd.Series) -> None:
        if self.numeric_dtype:
            self.summaries["numeric"].add(column)
            return
        text = column.mask(column.isin(self.markers))
        numbers = pd.to_numeric(text, errors="coerce")
        present = text.notna().to_numpy()
        self.present_text += int(present.sum())
        self.parsed += int(numbers.notna().to_numpy()[present].sum())
        self.summaries["numeric"].add(numbers)
        self.summaries["categorical"].add(text)

    @property
    def kind(self) -> str:
        numeric = self.numeric_dtype or (self.present_text > 0 and self.parsed / self.present_text >= NUMERIC_SHARE)
        return "numeric" if numeric else "categorical"

    def present(self, kind: str) -> bool:
        return self.summaries[kind].present > 0

    def has_missing(self, kind: str) -> bool:
        return self.summaries[kind].missing > 0

    def statistic(self, kind: str, strategy: str):
        return self.summaries[kind].statistic(strategy)


class _Summary:
    """Counts of present and missing cells, and what the fill `strategy` needs: moments for mean, a seeded
    sample for median, value counts for mode."""

    def __init__(self, strategy: str, rng: np.random.Generator):
        self.present = self.missing = 0
        self.strategy = strategy
        self.moments = Moments() if strategy == "mean" else None
        self.sample = Reservoir(rng) if strategy == "median" else None
        self.counts = Counts() if strategy == "mode" else None

    def add(self, values: pd.Series) -> None:
        missing = int(values.isna().sum())
        self.present += len(values) - missing
        self.missing += missing
        if self.moments is not None:
            self.moments.add(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if self.sample is not None:
            self.sample.add(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if self.counts is not None:
            self.counts.add(values)

    def statistic(self, strategy: str):
        if not self.present:
            return None
        if strategy == "mode":
            return _plain(self.counts.mode())
        return self.moments.mean if strategy == "mean" else self.sample.quantile(0.5)


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
