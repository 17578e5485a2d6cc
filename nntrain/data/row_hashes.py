"""Sets of 64-bit row hashes: how streaming dedupe and the leak check compare rows without holding them.

Dedupe holds the hashes of the rows it has seen (`HashSet`: 8 bytes a row for the full rows, 8 more for the
feature key). The leak check holds none per row: the prepared rows' hashes are written to files as they are
written, then counted part by part (`shared_rows`) within a fixed budget.

A row is known by `pd.util.hash_pandas_object` of its cells (8 bytes a row). Two different rows share a
hash with probability about n²/2⁶⁵ among n rows (≈ 3·10⁻⁶ for 10 million rows), which would make one
of them count as a duplicate; the in-memory path compares the cells themselves.
"""

from pathlib import Path

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


HELD_HASHES = 1 << 19  # hashes the leak count holds at once (about 8 MB with their counts)
READ_HASHES = 1 << 18  # hashes read from a file at a time (a few MB of temporaries each)


def shared_rows(files: dict[str, Path], pairs: list[tuple[str, str]]) -> dict[str, int]:
    """For each (first, second) pair of files of uint64 row hashes, how many rows of `second` have a hash that
    `first` holds, in bounded memory: the seconds' hashes are held part by part (hash mod parts), at most
    about HELD_HASHES at a time, and each first is read through once per part."""
    held_names = sorted({second for _, second in pairs})
    parts = max(1, -(-sum(files[name].stat().st_size // 8 for name in held_names) // HELD_HASHES))
    shared = {f"{first}-{second}": 0 for first, second in pairs}
    for part in range(parts):  # a loop over parts of the hash range, not over rows
        held = {name: np.unique(np.concatenate([block[block % parts == part] for block in _read(files[name])]),
                                return_counts=True) for name in held_names}
        for first in dict.fromkeys(first for first, _ in pairs):
            seconds = [second for one, second in pairs if one == first]
            found = {second: np.zeros(len(held[second][0]), dtype=bool) for second in seconds}
            for block in _read(files[first]):
                block = block[block % parts == part]
                for second in seconds:
                    unique = held[second][0]
                    places = np.minimum(np.searchsorted(unique, block), max(len(unique) - 1, 0))
                    if len(unique):
                        found[second][places[unique[places] == block]] = True
            for second in seconds:
                shared[f"{first}-{second}"] += int(held[second][1][found[second]].sum())
    return shared


def _read(path: Path):
    with open(path, "rb") as handle:
        yield np.zeros(0, dtype=np.uint64)  # so that an empty file still concatenates
        while len(block := np.fromfile(handle, dtype=np.uint64, count=READ_HASHES)):
            yield block
