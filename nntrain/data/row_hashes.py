"""Sets of 64-bit row hashes: how streaming dedupe and the leak check compare rows without holding them.

A row is known by `pd.util.hash_pandas_object` of its cells (8 bytes a row). Two different rows share a
hash with probability about n²/2⁶⁵ among n rows (≈ 3·10⁻⁶ for 10 million rows), which would make one
of them count as a duplicate; the in-memory path compares the cells themselves.
"""

import numpy as np
import pandas as pd


def row_hashes(frame: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
    return pd.util.hash_pandas_object(frame if columns is None else frame[columns], index=False).to_numpy()


class HashSet:
    """A growing set of uint64 hashes kept as a few sorted arrays (each at least twice the next in size),
    so adding n hashes costs O(n log n) in all and a lookup is a binary search per array."""

    def __init__(self):
        self.levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for level in self.levels:
            places = np.minimum(np.searchsorted(level, hashes), len(level) - 1)
            found |= level[places] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        fresh = np.unique(hashes)
        fresh = fresh[~self.contains(fresh)]
        if not len(fresh):
            return
        self.levels.append(fresh)
        while len(self.levels) > 1 and len(self.levels[-2]) <= 2 * len(self.levels[-1]):
            last = self.levels.pop()
            self.levels[-1] = np.union1d(self.levels[-1], last)
