"""The order rows are visited in an epoch: a full shuffle for data in memory, a block shuffle for a memory map.

A full shuffle reads a memory-mapped table at random, one row per page, which turns an epoch into
millions of random disk reads once the table is bigger than the page cache. A block shuffle visits
blocks of BLOCK_ROWS consecutive rows in a seeded random order and shuffles the rows within each
window of `buffer` rows (a run of whole blocks), so an epoch reads the file block by block and a
batch gathers from one window, which the page cache holds. Both orders are a permutation drawn from
the epoch's generator alone, so the same seed and epoch give the same order, and a resumed run
(which restores the generator) continues it exactly.
"""

import numpy as np

BLOCK_ROWS = 1024


def epoch_order(rows: int, rng: np.random.Generator, buffer: int | None = None) -> np.ndarray:
    """A permutation of range(rows): full (`buffer` None, or at least `rows`), else block-shuffled."""
    if buffer is None or buffer >= rows:
        return rng.permutation(rows)
    block = min(BLOCK_ROWS, buffer)
    buffer -= buffer % block  # a window holds whole blocks
    starts = rng.permutation(-(-rows // block)) * block
    order = (starts[:, None] + np.arange(block)[None, :]).ravel()
    order = order[order < rows]  # the last block may be short
    for start in range(0, rows, buffer):  # a loop over windows, not rows
        rng.shuffle(order[start:start + buffer])
    return order
