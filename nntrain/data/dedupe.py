"""The `dedupe` step: exact duplicate rows, and rows whose features match but whose targets conflict."""

import numpy as np
import pandas as pd

from nntrain.data.row_hashes import HashSet, row_hashes
from nntrain.data.step import fit_first
from nntrain.errors import DataError
from nntrain.words import counted


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

    def fit_chunks(self, chunks, ctx):
        """The column check, and for `conflicts: drop_all` a pass finding the features shared by rows with
        different targets (whose first row comes before the others are seen). Kept on the step, not in the
        state: it is about the training table's rows, and predict never dedupes."""
        state, self._conflicting = None, None
        if self.conflicts != "drop_all":
            return fit_first(self, chunks, ctx)
        seen = _SeenRows()
        for frame in chunks:
            state = self.fit(frame, ctx) if state is None else state
            seen.see(frame, self._key(frame, ctx), ctx.target)
        self._conflicting = seen.conflicting
        return state

    def chunk_transform(self, state, ctx):
        return _StreamedDedupe(self, ctx)

    def _key(self, frame, ctx) -> list[str]:
        return [c for c in self.subset or () if c in frame] or ctx.features(frame)  # less columns clean emptied

    def _notes(self, exact: int, clashing: int, groups: int, ctx) -> None:
        if exact:
            ctx.notes.append(f"dedupe: dropped {counted(exact, 'duplicate row')}")
        if clashing:
            action = "dropped them all" if self.conflicts == "drop_all" else "kept the first of each"
            ctx.notes.append(f"dedupe: {counted(clashing, 'row')} in {counted(groups, 'group')} have the "
                             f"same features but different targets; {action} (conflicts: {self.conflicts})")

    def transform(self, frame, state, ctx):
        if not ctx.training:
            return frame
        key = self._key(frame, ctx)
        exact = duplicated(frame, key + ctx.target)
        frame = frame[~exact] if exact.any() else frame
        clash = duplicated(frame, key, keep=False)
        groups = frame[clash].groupby(key, dropna=False).ngroups if clash.any() else 0
        self._notes(int(exact.sum()), int(clash.sum()), groups, ctx)
        if clash.any():
            frame = frame[~(clash if self.conflicts == "drop_all" else duplicated(frame, key))]
        return frame


class _SeenRows:
    """The rows of one streaming pass seen so far, by hash: exact duplicates, and features seen before with
    another target (a conflict), counted as the in-memory dedupe counts them."""

    def __init__(self):
        self.rows, self.keys, self.conflicting = HashSet(), HashSet(), HashSet()
        self.exact = self.clashing = self.groups = 0

    def see(self, frame, key: list[str], target: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which rows of this chunk repeat an earlier row exactly, which repeat earlier features; their key hashes."""
        full, keys = row_hashes(frame, key + target), row_hashes(frame, key)
        exact = self.rows.contains(full) | pd.Series(full).duplicated().to_numpy()
        repeated = self.keys.contains(keys) | pd.Series(keys).duplicated().to_numpy()
        conflict = repeated & ~exact
        fresh = np.unique(keys[conflict])
        fresh = fresh[~self.conflicting.contains(fresh)]
        self.exact += int(exact.sum())
        self.groups += len(fresh)
        self.clashing += len(fresh) + int(conflict.sum())  # a group's first row, once, and each conflicting one
        self.conflicting.add(keys[conflict])
        self.rows.add(full)
        self.keys.add(keys)
        return exact, repeated, keys


class _StreamedDedupe:
    """Dedupe over the chunks of one pass: keeps the first row of each set of features (keep_first), or every
    row but exact repeats and those whose features the fit found with different targets (drop_all)."""

    def __init__(self, step: Dedupe, ctx):
        self.step, self.ctx, self.seen = step, ctx, _SeenRows()

    def __call__(self, frame):
        exact, repeated, keys = self.seen.see(frame, self.step._key(frame, self.ctx), self.ctx.target)
        if self.step.conflicts == "drop_all":
            return frame[~exact & ~self.step._conflicting.contains(keys)]
        return frame[~repeated]

    def finish(self) -> None:
        self.step._notes(self.seen.exact, self.seen.clashing, self.seen.groups, self.ctx)

def duplicated(frame: pd.DataFrame, columns: list[str], keep="first") -> np.ndarray:
    """pandas' DataFrame.duplicated, exact, but hashing rows first so only candidate rows are compared."""
    hashes = pd.util.hash_pandas_object(frame[columns], index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    result = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        result[candidates] = frame.loc[candidates, columns].duplicated(keep=keep).to_numpy()
    return result
