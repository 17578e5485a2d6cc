"""The `dedupe` step: exact duplicate rows, and rows whose features match but whose targets conflict."""

import numpy as np
import pandas as pd

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
