"""The order rows are visited in an epoch: a full shuffle for data in memory, a block shuffle for a memory map.

A full shuffle reads a memory-mapped table at random, one row per page, which turns an epoch into
millions of random disk reads once the table is bigger than the page cache. A block shuffle visits
blocks of BLOCK_ROWS consecutive rows in a seeded random order and shuffles the rows within each
window of `buffer` rows (a run of whole blocks), so an epoch reads the file block by block and a
batch gathers from one window, which the page cache holds. Both orders are a permutation drawn from
the epoch's generator alone, so the same seed and epoch give the same order, and a resumed run
(which restores the generator) continues it exactly.

A block shuffle is not held as a row index per row (8 bytes a row): `BlockOrder` keeps the blocks'
order and the generator's state before each window's shuffle, and makes a window's rows when a batch
reaches it.
"""

import copy

import numpy as np

BLOCK_ROWS = 1024


def epoch_order(rows: int, rng: np.random.Generator, buffer: int | None = None):
    """A permutation of range(rows): full (`buffer` None, or at least `rows`), else block-shuffled (`BlockOrder`)."""
    if buffer is None or buffer >= rows:
        return rng.permutation(rows)
    return BlockOrder(rows, rng, buffer)


class BlockOrder:
    """A block-shuffled permutation of range(rows), sliced as an array (`order[start:stop]`) window by window.

    Drawing it leaves `rng` where shuffling the whole order at once leaves it: the blocks' order is
    drawn, then each window's shuffle is drawn on a scratch array (its draws depend on its length
    only) after its starting state is kept."""

    def __init__(self, rows: int, rng: np.random.Generator, buffer: int):
        block = min(BLOCK_ROWS, buffer)
        self.rows, self.block, self.buffer = rows, block, buffer - buffer % block  # a window holds whole blocks
        self.starts = rng.permutation(-(-rows // block)) * block
        self.ends = np.cumsum(np.minimum(block, rows - self.starts))  # where each block ends in the order
        self.states, scratch = [], np.empty(self.buffer, dtype=np.int64)
        for start in range(0, rows, self.buffer):  # a loop over windows, not rows
            self.states.append(copy.deepcopy(rng.bit_generator.state))
            rng.shuffle(scratch[:min(self.buffer, rows - start)])
        self.kind = type(rng.bit_generator)
        self.cached = (-1, None)

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, _ = index.indices(self.rows)
        parts = []
        while start < stop:  # a batch may span two windows
            window = start // self.buffer
            offset = window * self.buffer
            parts.append(self._window(window)[start - offset:min(stop, offset + self.buffer) - offset])
            start = offset + self.buffer
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[0:self.rows]
        return whole if dtype is None else whole.astype(dtype)

    def _window(self, window: int) -> np.ndarray:
        """The rows of the window: its blocks' rows in the blocks' order, shuffled as the whole order would be."""
        if self.cached[0] != window:
            begin, end = window * self.buffer, min(self.rows, (window + 1) * self.buffer)
            first, last = np.searchsorted(self.ends, begin, side="right"), np.searchsorted(self.ends, end, side="left")
            rows = (self.starts[first:last + 1, None] + np.arange(self.block)[None, :]).ravel()
            rows = rows[rows < self.rows]  # the last block may be short
            skip = begin - (self.ends[first - 1] if first else 0)
            rows = rows[skip:skip + end - begin]
            generator = np.random.Generator(self.kind())
            generator.bit_generator.state = self.states[window]
            generator.shuffle(rows)
            self.cached = (window, rows)
        return self.cached[1]
