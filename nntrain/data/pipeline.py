"""Pipeline steps: each is fitted on the training rows, and its state replayed on any later table.

A step has `fit(frame, ctx) -> state` and `transform(frame, state, ctx) -> frame`.
State is plain data (numbers, strings, lists) so it is saved in the checkpoint as
JSON and `eval` and `predict` transform new rows exactly as training rows were.
Steps see feature columns and the target columns (named in `ctx.target`) and
never change the target. Rows are only ever removed while training
(`ctx.training`): at predict time every input row gets an output row. Frames
are indexed by line number, so notes can say where a value was found.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nntrain.data.targets import label_strings
from nntrain.errors import DataError

DEFAULT_MARKERS = ["?", "-", "--"]
NUMERIC_SHARE = 0.5  # a text column is numeric if at least half its present values parse as numbers


@dataclass
class Context:
    """What a step knows about the table it works on, and where it leaves notes for the user."""

    target: list[str]
    training: bool
    notes: list[str] = field(default_factory=list)

    def features(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c not in self.target]


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _first_line(mask: pd.Series) -> int:
    return int(mask.index[mask.to_numpy()][0])


class Clean:
    """Missing values: markers such as '?' and unparsable numbers become missing, then rows are dropped
    (while training) or values filled, per column kind or per column."""

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
        unknown = [c for c in self.columns if c not in features]
        if unknown:
            raise DataError(f"clean: no feature column {', '.join(map(repr, unknown))}; "
                            f"the features are {', '.join(map(str, features))}")
        kinds = {name: ("numeric" if _looks_numeric(frame[name], self.markers) else "categorical")
                 for name in features}
        state = {"kinds": kinds, "markers": self.markers, "strategy": {}, "fill": {}, "indicators": []}
        coerced = self._coerce(frame, state, Context(ctx.target, ctx.training))
        for name in features:
            strategy, value = self._rule(name, kinds[name])
            state["strategy"][name] = strategy
            if strategy != "drop":
                state["fill"][name] = value if strategy == "constant" else _statistic(coerced[name], strategy)
            if self.indicator and strategy != "drop" and coerced[name].isna().any():
                state["indicators"].append(name)
        return state

    def _rule(self, name: str, kind: str):
        rule = self.columns.get(name)
        if rule is not None:
            return rule["missing"], rule.get("value")
        if kind == "numeric":
            return self.missing, self.value
        return self.categorical, self.categorical_value

    def transform(self, frame, state, ctx):
        frame = self._coerce(frame, state, ctx)
        for name in state["indicators"]:
            if name in frame:
                frame[f"{name}_missing"] = frame[name].isna().astype("float64")
        fills = {name: value for name, value in state["fill"].items() if name in frame and value is not None}
        frame = frame.fillna(fills)
        dropped = [name for name, strategy in state["strategy"].items() if strategy == "drop" and name in frame]
        if ctx.training and dropped:
            frame = frame.dropna(subset=dropped)
        return frame

    @staticmethod
    def _coerce(frame: pd.DataFrame, state: dict, ctx: Context) -> pd.DataFrame:
        """Markers to missing; text in numeric columns to numbers, unparsable text to missing (noted)."""
        frame = frame.copy()
        for name, kind in state["kinds"].items():
            if name not in frame:
                continue
            column = frame[name]
            if not is_numeric(column):
                column = column.mask(column.isin(state["markers"]))
            if kind == "numeric" and not is_numeric(column):
                numbers = pd.to_numeric(column, errors="coerce")
                bad = numbers.isna() & column.notna()
                if bad.any():
                    line = _first_line(bad)
                    ctx.notes.append(f"clean: {int(bad.sum())} unparsable values in numeric column {name!r} "
                                     f"treated as missing (e.g. {column[line]!r} on line {line})")
                column = numbers
            frame[name] = column
        return frame


def _looks_numeric(column: pd.Series, markers: list[str]) -> bool:
    if is_numeric(column):
        return True
    present = column[column.notna() & ~column.isin(markers)]
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= NUMERIC_SHARE


def _statistic(column: pd.Series, strategy: str):
    present = column.dropna()
    if present.empty:
        return None
    if strategy == "mode":
        return _plain(present.mode().iloc[0])
    return float(present.mean() if strategy == "mean" else present.median())


class Dedupe:
    """While training, drop exact duplicate rows (keep the first) and resolve rows whose features match but
    whose targets conflict: keep the first of each group, or drop them all."""

    def __init__(self, subset: list[str] | None = None, conflicts: str = "keep_first"):
        self.subset = subset
        self.conflicts = conflicts

    def fit(self, frame, ctx):
        missing = [c for c in self.subset or () if c not in frame]
        if missing:
            raise DataError(f"dedupe: no column {', '.join(map(repr, missing))} to compare on")
        return {}

    def transform(self, frame, state, ctx):
        if not ctx.training:
            return frame
        key = list(self.subset or ctx.features(frame))
        exact = frame.duplicated(subset=key + ctx.target, keep="first")
        frame = frame[~exact]
        if exact.any():
            ctx.notes.append(f"dedupe: dropped {int(exact.sum())} duplicate rows")
        clash = frame.duplicated(subset=key, keep=False)
        if clash.any():
            groups = frame[clash].groupby(key, dropna=False).ngroups
            if self.conflicts == "drop_all":
                drop, action = clash, "dropped them all"
            else:
                drop, action = frame.duplicated(subset=key, keep="first"), "kept the first of each"
            ctx.notes.append(f"dedupe: {int(clash.sum())} rows in {groups} groups have the same features but "
                             f"different targets; {action} (conflicts: {self.conflicts})")
            frame = frame[~drop]
        return frame


class Encode:
    """Categorical columns to one-hot indicator columns or ordinal codes.

    Categories come from the training rows (or are listed). With `max_categories`
    the most frequent are kept and the rest share an `other` column; values not
    seen in training go to `other` if it exists, else to all zeros (ordinal: -1).
    """

    def __init__(self, method: str = "onehot", columns: list[str] | None = None,
                 max_categories: int | None = None, categories: dict | None = None):
        self.method = method
        self.columns = columns
        self.max_categories = max_categories
        self.categories = categories or {}

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        columns = self.columns if self.columns is not None else [c for c in features if not is_numeric(frame[c])]
        missing = [c for c in columns + list(self.categories) if c not in features]
        if missing:
            raise DataError(f"encode: no feature column {', '.join(map(repr, dict.fromkeys(missing)))}")
        state = {}
        for name in columns:
            values = _category_strings(frame[name]).dropna()
            if name in self.categories:
                kept, other = [str(v) for v in self.categories[name]], False
            else:
                counts = values.value_counts()
                kept = sorted(counts.index)
                other = self.max_categories is not None and len(kept) > self.max_categories
                if other:
                    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                    kept = sorted(value for value, _ in ranked[:self.max_categories])
            state[name] = {"categories": kept, "other": other}
        return {"method": self.method, "columns": state}

    def transform(self, frame, state, ctx):
        pieces, position = {}, {}
        for name, spec in state["columns"].items():
            if name not in frame:
                continue
            values = _category_strings(frame[name])
            missing = values.isna().to_numpy()
            if missing.any() and ctx.training:
                raise DataError(f"column {name!r} has {int(missing.sum())} missing values, first on line "
                                f"{_first_line(values.isna())}; add a clean step before encode to fill them")
            codes = pd.Index(spec["categories"]).get_indexer(values)
            outside = (codes < 0) & ~missing
            if outside.any() and not ctx.training:
                example = values[outside].iloc[0]
                where = "the other column" if spec["other"] else "all zeros" if state["method"] == "onehot" else "-1"
                ctx.notes.append(f"encode: {int(outside.sum())} values of {name!r} were not seen in training "
                                 f"(e.g. {example!r}); encoded as {where}")
            pieces[name] = self._encode(name, codes, spec, state["method"], frame.index)
            pieces[name][missing] = np.nan  # left for the feature check to report, or skip, at predict time
            position[name] = frame.columns.get_loc(name)
        if not pieces:
            return frame
        parts, start = [], 0
        for name in sorted(pieces, key=position.get):
            parts += [frame.iloc[:, start:position[name]], pieces[name]]
            start = position[name] + 1
        parts.append(frame.iloc[:, start:])
        return pd.concat(parts, axis=1)

    @staticmethod
    def _encode(name, codes, spec, method, index) -> pd.DataFrame:
        if method == "ordinal":
            return pd.DataFrame({name: codes.astype("float64")}, index=index)
        categories = len(spec["categories"])
        onehot = (codes[:, None] == np.arange(categories)).astype("float64")
        columns = [f"{name}={category}" for category in spec["categories"]]
        if spec["other"]:
            onehot = np.hstack([onehot, (codes < 0)[:, None].astype("float64")])
            columns.append(f"{name}=other")
        return pd.DataFrame(onehot, columns=columns, index=index)


def _category_strings(column: pd.Series) -> pd.Series:
    """Category values as text (so 1 and '1' match across files), missing kept missing."""
    return label_strings(column).where(column.notna())


class Normalize:
    """Scale numeric feature columns with training statistics; constant columns map to 0.

    zscore: (x − mean)/std;  minmax: into `range` (default 0..1);  robust: (x − median)/IQR.
    """

    def __init__(self, method: str = "zscore", columns: list[str] | None = None,
                 range: tuple[float, float] = (0.0, 1.0)):
        self.method = method
        self.columns = columns
        self.range = tuple(range)

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        columns = self.columns if self.columns is not None else [c for c in features if is_numeric(frame[c])]
        missing = [c for c in columns if c not in features]
        if missing:
            raise DataError(f"normalize: no feature column {', '.join(map(repr, missing))}")
        text = [c for c in columns if not is_numeric(frame[c])]
        if text:
            raise DataError(f"normalize: column {text[0]!r} is not numeric; add a clean step first, or encode it")
        values = frame[columns].astype("float64")
        if self.method == "zscore":
            center, scale = values.mean(), values.std(ddof=0)
        elif self.method == "robust":
            center, scale = values.median(), values.quantile(0.75) - values.quantile(0.25)
        else:
            low, high = self.range
            center, scale = values.min(), (values.max() - values.min()) / (high - low)
        scale = scale.where(scale > 0, 1.0)
        offset = self.range[0] if self.method == "minmax" else 0.0
        return {"columns": columns, "center": _floats(center), "scale": _floats(scale), "offset": offset}

    def transform(self, frame, state, ctx):
        columns = [c for c in state["columns"] if c in frame]
        if not columns:
            return frame
        frame = frame.copy()
        center = pd.Series(state["center"], index=state["columns"])[columns]
        scale = pd.Series(state["scale"], index=state["columns"])[columns]
        frame[columns] = (frame[columns].astype("float64") - center) / scale + state["offset"]
        return frame


class Drop:
    """Remove columns (identifiers, free text) from the features."""

    def __init__(self, columns: list[str]):
        self.columns = columns

    def fit(self, frame, ctx):
        missing = [c for c in self.columns if c not in frame]
        if missing:
            raise DataError(f"drop: no column {', '.join(map(repr, missing))}; the columns are "
                            f"{', '.join(map(str, frame.columns))}")
        return {"columns": self.columns}

    def transform(self, frame, state, ctx):
        return frame.drop(columns=[c for c in state["columns"] if c in frame and c not in ctx.target])


def _floats(series: pd.Series) -> list[float]:
    return [float(v) for v in series.to_numpy(dtype="float64")]


def _plain(value):
    """A numpy or pandas scalar as a plain Python value, for JSON state."""
    return value.item() if isinstance(value, np.generic) else value


STEPS = {
    "clean": Clean,
    "dedupe": Dedupe,
    "encode": Encode,
    "normalize": Normalize,
    "drop": Drop,
}


class Pipeline:
    """The configured steps, in order."""

    def __init__(self, specs: list[dict]):
        self.specs = specs
        self.steps = []
        for spec in specs:
            options = {k: v for k, v in spec.items() if k != "type"}
            self.steps.append(STEPS[spec["type"]](**options))

    def fit_transform(self, frame: pd.DataFrame, is_train: pd.Series, ctx: Context):
        """Fit each step on the training rows of `frame`, transforming all of it as it goes."""
        states, drops = [], []
        for spec, step in zip(self.specs, self.steps):
            train_rows = frame[is_train.reindex(frame.index).to_numpy()]
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

    def dropped_columns(self) -> set[str]:
        """Columns removed by `drop` steps: not needed in files given to predict."""
        return {c for spec in self.specs if spec["type"] == "drop" for c in spec["columns"]}
