"""Pipeline steps: each is fitted on the training rows, and its state replayed on any later table.

A step has `fit(frame, ctx) -> state` and `transform(frame, state, ctx) -> frame`.
`fit` learns only from the training rows, which it reads column by column with
`ctx.learn(frame, name)` (so the training rows are never copied as a whole).
State is plain data (numbers, strings, lists) so it is saved in the checkpoint as
JSON and `eval` and `predict` transform new rows exactly as training rows were.
Steps see feature columns and the target columns (named in `ctx.target`) and
never change the target (`Pipeline.clean_targets`, applied before the steps,
lets clean's markers mark target cells missing). Rows are only ever removed while training
(`ctx.training`): at predict time every input row gets an output row. Frames
are indexed by line number, so notes can say where a value was found.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nntrain.data.targets import label_strings
from nntrain.errors import DataError
from nntrain.words import counted

DEFAULT_MARKERS = ["?", "-", "--"]
NUMERIC_SHARE = 0.5  # a text column is numeric if at least half its present values parse as numbers
POOLED_LISTED = 1000  # encode lists at most this many pooled training values in its state, else counts them


@dataclass
class Context:
    """What a step knows about the table it works on, and where it leaves notes for the user."""

    target: list[str]
    training: bool
    notes: list[str] = field(default_factory=list)
    rows: np.ndarray | None = None  # while fitting: which rows of the frame are training rows
    emptied: set[str] = field(default_factory=set)  # columns clean removed as empty in the training rows

    def features(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c not in self.target]

    def named(self, names: list[str]) -> list[str]:
        """Columns a step's options name, less those clean removed as empty: gone, and a note said so."""
        return [name for name in names if name not in self.emptied]

    def learn(self, frame: pd.DataFrame, name: str) -> pd.Series:
        """Column `name` restricted to the training rows, the only rows a step may learn from."""
        return frame[name] if self.rows is None else frame[name][self.rows]


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _first_line(mask: pd.Series) -> int:
    return int(mask.index[mask.to_numpy()][0])


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
        if state["empty"]:
            ctx.emptied.update(state["empty"])
            ctx.notes.append(f"clean: {_names('column', state['empty'])} "
                             f"{'is' if len(state['empty']) == 1 else 'are'} empty in the training rows; "
                             f"dropped {'it' if len(state['empty']) == 1 else 'them'}")
        return state

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
                line = _first_line(bad)
                ctx.notes.append(f"clean: {counted(int(bad.sum()), 'unparsable value')} in numeric column "
                                 f"{name!r} treated as missing (e.g. {frame[name][line]!r} on line {line})")
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


def _names(noun: str, names: list[str], shown: int = 5) -> str:
    """"column 'a'", "columns 'a', 'b'", or the first few and how many more."""
    listed = ", ".join(map(repr, names[:shown])) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{noun if len(names) == 1 else noun + 's'} {listed}"


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
        missing = [c for c in ctx.named(self.subset or []) if c not in frame]
        if missing:
            raise DataError(f"dedupe: no column {', '.join(map(repr, missing))} to compare on")
        return {}

    def fates(self, state) -> dict[str, dict]:
        return {}

    def transform(self, frame, state, ctx):
        if not ctx.training:
            return frame
        key = [c for c in self.subset or () if c in frame] or ctx.features(frame)  # less columns clean emptied
        exact = duplicated(frame, key + ctx.target)
        if exact.any():
            frame = frame[~exact]
            ctx.notes.append(f"dedupe: dropped {counted(int(exact.sum()), 'duplicate row')}")
        clash = duplicated(frame, key, keep=False)
        if clash.any():
            groups = frame[clash].groupby(key, dropna=False).ngroups
            if self.conflicts == "drop_all":
                drop, action = clash, "dropped them all"
            else:
                drop, action = duplicated(frame, key), "kept the first of each"
            ctx.notes.append(f"dedupe: {counted(int(clash.sum()), 'row')} in {counted(groups, 'group')} have the "
                             f"same features but different targets; {action} (conflicts: {self.conflicts})")
            frame = frame[~drop]
        return frame


def duplicated(frame: pd.DataFrame, columns: list[str], keep="first") -> np.ndarray:
    """pandas' DataFrame.duplicated, exact, but hashing rows first so only candidate rows are compared."""
    hashes = pd.util.hash_pandas_object(frame[columns], index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    result = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        result[candidates] = frame.loc[candidates, columns].duplicated(keep=keep).to_numpy()
    return result


class Encode:
    """Categorical columns to one-hot indicator columns or ordinal codes.

    Categories come from the training rows (or are listed). With `max_categories`
    the most frequent are kept and the rest share an `other` column; values not
    seen in training go to `other` if it exists, else to all zeros (ordinal: -1,
    as for pooled values). The training values left out of the categories are kept
    in the state as `pooled` (their count, if more than POOLED_LISTED), so that only
    values never seen in training are reported as unseen.
    """

    def __init__(self, method: str = "onehot", columns: list[str] | None = None,
                 max_categories: int | None = None, categories: dict | None = None):
        self.method = method
        self.columns = columns
        self.max_categories = max_categories
        self.categories = categories or {}

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        columns = ctx.named(self.columns) if self.columns is not None else \
            [c for c in features if not is_numeric(frame[c])]
        missing = [c for c in columns + ctx.named(list(self.categories)) if c not in features]
        if missing:
            raise DataError(f"encode: no feature column {', '.join(map(repr, dict.fromkeys(missing)))}")
        state = {}
        for name in columns:
            counts = _category_strings(ctx.learn(frame, name)).dropna().value_counts()
            if name in self.categories:
                kept, other = [str(v) for v in self.categories[name]], False
            else:
                kept = sorted(counts.index)
                other = self.max_categories is not None and len(kept) > self.max_categories
                if other:
                    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                    kept = sorted(value for value, _ in ranked[:self.max_categories])
            pooled = sorted(set(counts.index).difference(kept))
            state[name] = {"categories": kept, "other": other,
                           "pooled": pooled if len(pooled) <= POOLED_LISTED else len(pooled)}
        return {"method": self.method, "columns": state}

    def fates(self, state) -> dict[str, dict]:
        return {name: {"fate": "encoded", "encoded_into": self._width(spec, state["method"])}
                for name, spec in state["columns"].items()}

    @staticmethod
    def _width(spec, method) -> int:
        """How many feature columns one encoded column becomes."""
        return 1 if method == "ordinal" else len(spec["categories"]) + bool(spec["other"])

    def transform(self, frame, state, ctx):
        pieces, position = {}, {}
        for name, spec in state["columns"].items():
            if name not in frame:
                continue
            values = _category_strings(frame[name])
            missing = values.isna().to_numpy()
            if missing.any() and ctx.training:
                raise DataError(f"column {name!r} has {counted(int(missing.sum()), 'missing value')}, first on "
                                f"line {_first_line(values.isna())}; add a clean step before encode to fill them")
            codes = pd.Index(spec["categories"]).get_indexer(values)
            if not ctx.training:
                self._note_unseen(name, values, (codes < 0) & ~missing, spec, state["method"], ctx)
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
    def _note_unseen(name, values, outside, spec, method, ctx) -> None:
        """Note the values never seen in training; pooled ones are known. A state from before pooled
        values were kept has none (every outside value is unseen); a count alone cannot tell them apart."""
        pooled = spec.get("pooled", [])
        if not outside.any() or isinstance(pooled, int):
            return
        unseen = outside & ~values.isin(pooled).to_numpy()
        if unseen.any():
            where = "-1" if method == "ordinal" else "the other column" if spec["other"] else "all zeros"
            count = int(unseen.sum())
            ctx.notes.append(f"encode: {counted(count, 'value')} of {name!r} {'was' if count == 1 else 'were'} "
                             f"not seen in training (e.g. {values[unseen].iloc[0]!r}); encoded as {where}")

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
    A column with no spread in the training rows (scale 0) is shifted, not scaled, so that its
    training value lands on 0, or for minmax on the end of `range` nearest 0 if 0 is outside it.
    """

    def __init__(self, method: str = "zscore", columns: list[str] | None = None,
                 range: tuple[float, float] = (0.0, 1.0)):
        self.method = method
        self.columns = columns
        self.range = tuple(range)

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        columns = ctx.named(self.columns) if self.columns is not None else \
            [c for c in features if is_numeric(frame[c])]
        missing = [c for c in columns if c not in features]
        if missing:
            raise DataError(f"normalize: no feature column {', '.join(map(repr, missing))}")
        text = [c for c in columns if not is_numeric(frame[c])]
        if text:
            raise DataError(f"normalize: column {text[0]!r} is not numeric; add a clean step first, or encode it")
        center, scale = zip(*(self._statistics(ctx.learn(frame, name).astype("float64")) for name in columns)) \
            if columns else ((), ())
        offset = self.range[0] if self.method == "minmax" else 0.0
        constant = min(max(0.0, self.range[0]), self.range[1]) if self.method == "minmax" else 0.0
        # without spread, (x − center)/1 + offset must give `constant` for the training value (center)
        return {"columns": columns,
                "center": [float(c) if s > 0 else float(c) + offset - constant for c, s in zip(center, scale)],
                "scale": [float(s) if s > 0 else 1.0 for s in scale], "offset": offset}

    def fates(self, state) -> dict[str, dict]:
        return {}

    def _statistics(self, values: pd.Series) -> tuple[float, float]:
        """(center, scale) of one column, one column at a time to keep memory small."""
        if self.method == "zscore":
            return values.mean(), values.std(ddof=0)
        if self.method == "robust":
            return values.median(), values.quantile(0.75) - values.quantile(0.25)
        low, high = self.range
        return values.min(), (values.max() - values.min()) / (high - low)

    def transform(self, frame, state, ctx):
        columns = [c for c in state["columns"] if c in frame]
        if not columns:
            return frame
        frame = frame.copy(deep=False)  # new columns replace old ones; the input frame is untouched
        center = dict(zip(state["columns"], state["center"]))
        scale = dict(zip(state["columns"], state["scale"]))
        for name in columns:  # column by column, in float64 and in place, keeping float32 columns float32
            kind = frame[name].dtype if pd.api.types.is_float_dtype(frame[name]) else np.float64
            values = frame[name].to_numpy(dtype="float64", copy=True)
            values -= center[name]
            values /= scale[name]
            values += state["offset"]
            frame[name] = values.astype(kind, copy=False)
        return frame


class Drop:
    """Remove columns (identifiers, free text) from the features."""

    def __init__(self, columns: list[str]):
        self.columns = columns

    def fit(self, frame, ctx):
        columns = ctx.named(self.columns)
        missing = [c for c in columns if c not in frame]
        if missing:
            raise DataError(f"drop: no column {', '.join(map(repr, missing))}; the columns are "
                            f"{', '.join(map(str, frame.columns))}")
        return {"columns": columns}

    def fates(self, state) -> dict[str, dict]:
        return {name: {"fate": "dropped"} for name in state["columns"]}

    def transform(self, frame, state, ctx):
        return frame.drop(columns=[c for c in state["columns"] if c in frame and c not in ctx.target])


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
            mask = is_train.reindex(frame.index).to_numpy()
            ctx.rows = None if mask.all() else mask
            state = step.fit(frame, ctx)
            ctx.rows = None
            before = len(frame)
            frame = step.transform(frame, state, ctx)
            states.append(state)
            drops.append((spec["type"], before - len(frame)))
        if not ctx.features(frame):
            empty = f" ({_names('column', sorted(ctx.emptied))} had no value in the training rows)" if ctx.emptied \
                else ""
            raise DataError(f"data.pipeline leaves no feature column: its steps removed every one{empty}; "
                            "a model needs at least one feature")
        return frame, states, drops

    def transform(self, frame: pd.DataFrame, states: list[dict], ctx: Context) -> pd.DataFrame:
        for step, state in zip(self.steps, states):
            frame = step.transform(frame, state, ctx)
        return frame

    def fates(self, states: list[dict]) -> dict[str, dict]:
        """What the fitted steps did to the columns they removed or replaced: {"fate": "dropped"} (a drop
        step), {"fate": "empty"} (clean: no value in the training rows) or {"fate": "encoded",
        "encoded_into": n}. The last step to touch a column decides (an ordinal code can be dropped)."""
        fates = {}
        for step, state in zip(self.steps, states):
            fates.update(step.fates(state))
        return fates

    @property
    def cleans(self) -> bool:
        """Whether a clean step turns unparsable text into missing values."""
        return any(isinstance(step, Clean) for step in self.steps)

    def named_drops(self) -> set[str]:
        """Columns the drop steps name: known before fitting, and never features."""
        return {name for step in self.steps if isinstance(step, Drop) for name in step.columns}

    def removed_columns(self, states: list[dict]) -> set[str]:
        """Columns the fitted steps removed (drop steps, empty columns): not needed in files given to predict."""
        return {name for name, fate in self.fates(states).items() if fate["fate"] in ("dropped", "empty")}

    def markers(self, default: list[str] = DEFAULT_MARKERS) -> list[str]:
        """The missing-value markers of the clean steps (`default` when there is none)."""
        found = [marker for step in self.steps if isinstance(step, Clean) for marker in step.markers]
        return list(dict.fromkeys(found)) if found else list(default)

    def clean_targets(self, frame: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
        """Target cells that are a clean step's markers become missing, so their rows count as having no
        target; a column that is then all numbers becomes numeric. Without a clean step, nothing changes."""
        markers = self.markers(default=[])
        for name in targets:
            marked = frame[name].isin(markers)
            if is_numeric(frame[name]) or not marked.any():
                continue
            column = frame[name].mask(marked)
            numbers = pd.to_numeric(column, errors="coerce")
            frame = frame.copy(deep=False)  # the caller's frame keeps its column
            frame[name] = numbers if numbers.notna().sum() == column.notna().sum() else column
        return frame
