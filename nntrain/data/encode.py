"""The `encode` step: categorical columns to one-hot columns or ordinal codes, learnt from the training rows."""

from functools import partial

import numpy as np
import pandas as pd

from nntrain.data.step import CountNote, EachChunk, first_line, is_numeric, place, replace_columns
from nntrain.data.summaries import Counts
from nntrain.data.targets import label_strings
from nntrain.errors import DataError
from nntrain.words import counted

POOLED_LISTED = 1000  # encode lists at most this many pooled training values in its state, else counts them


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
        columns = self._columns(frame, ctx)
        return self._state({name: _category_strings(ctx.learn(frame, name)).dropna().value_counts()
                            for name in columns})

    def fit_chunks(self, chunks, ctx):
        counts = None
        for frame in chunks:
            if counts is None:
                counts = {name: Counts() for name in self._columns(frame, ctx)}
            for name, seen in counts.items():
                seen.add(_category_strings(ctx.learn(frame, name)))
        return self._state({name: seen.counts for name, seen in counts.items()})

    def chunk_transform(self, state, ctx):
        return EachChunk(self, state, ctx)

    def _columns(self, frame, ctx) -> list[str]:
        features = ctx.features(frame)
        columns = ctx.named(self.columns) if self.columns is not None else \
            [c for c in features if not is_numeric(frame[c])]
        missing = [c for c in columns + ctx.named(list(self.categories)) if c not in features]
        if missing:
            raise DataError(f"encode: no feature column {', '.join(map(repr, dict.fromkeys(missing)))}")
        return columns

    def _state(self, counts_of: dict[str, pd.Series]) -> dict:
        """The state from each encoded column's value counts in the training rows."""
        state = {}
        for name, counts in counts_of.items():
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
        pieces = {}
        for name, spec in state["columns"].items():
            if name not in frame:
                continue
            values = _category_strings(frame[name])
            missing = values.isna().to_numpy()
            if missing.any() and ctx.training:
                raise DataError(f"column {name!r} has {counted(int(missing.sum()), 'missing value')}, first on "
                                f"{place(values.index, first_line(values.isna()))}; add a clean step before encode to fill them")
            codes = pd.Index(spec["categories"]).get_indexer(values)
            if not ctx.training:
                self._note_unseen(name, values, (codes < 0) & ~missing, spec, state["method"], ctx)
            pieces[name] = self._encode(name, codes, spec, state["method"], frame.index)
            pieces[name][missing] = np.nan  # left for the feature check to report, or skip, at predict time
        return replace_columns(frame, pieces)

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
            ctx.notes.append(CountNote(("encode", name), int(unseen.sum()),
                                       partial(_unseen, name, values[unseen].iloc[0], where)))

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


def _unseen(name: str, example, where: str, count: int) -> str:
    return (f"encode: {counted(count, 'value')} of {name!r} {'was' if count == 1 else 'were'} not seen in training "
            f"(e.g. {example!r}); encoded as {where}")


def _category_strings(column: pd.Series) -> pd.Series:
    """Category values as text (so 1 and '1' match across files), missing kept missing."""
    return label_strings(column).where(column.notna())
