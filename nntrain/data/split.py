"""Deterministic, optionally stratified train/validation/test splits, drawn block by block so that a table read
chunk by chunk gets the same split as the whole table, without a code or a permutation kept per row.

The rows are cut into blocks of SPLIT_BLOCK consecutive rows. The totals of each group (class) per
split are fixed first (largest remainder, at least one training row per group); then, block after
block, how many of a group's rows in the block go to each split is drawn from the hypergeometric
distribution of what is left, so the totals come out exact; inside a block each group's codes are
shuffled by a generator seeded from the split's seed and the block. The split is a uniformly random
one with the exact counts, as a permutation of all rows would give, and costs memory per block and
group (`SplitPlan`), not per row.

A table of at most SPLIT_BLOCK rows (one block) keeps the split of earlier releases, a seeded
permutation of its rows (`permuted_split`; the memory of one block's groups), so that small
tables, and the runs saved on them, keep their splits.
"""

import numpy as np

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_BLOCK = 1 << 16  # consecutive rows whose split is drawn together


def split_rows(groups: np.ndarray, validation: float, test: float, rng: np.random.Generator) -> np.ndarray:
    """Assign each row a split code (TRAIN, VALIDATION or TEST).

    `groups` are integer codes (class indices when stratifying, all zeros
    otherwise). Each group gives the same share of its rows to each split, the
    counts are rounded so the totals match the fractions (largest remainder),
    and every group keeps at least one training row.
    """
    if len(groups) <= SPLIT_BLOCK:
        return permuted_split(groups, validation, test, rng)
    counts = BlockCounts()
    counts.add(groups)
    return SplitStream(SplitPlan(counts.matrix(), validation, test, rng)).codes(groups)


def permuted_split(groups: np.ndarray, validation: float, test: float, rng: np.random.Generator) -> np.ndarray:
    """The split of a table of one block: each group's rows in the order of one seeded permutation of all rows
    give their first rows to test, the next to validation (the split of releases before block splits)."""
    groups = np.asarray(groups, dtype=np.int64)
    sizes = np.bincount(groups)
    n_test = _allocate(sizes, test, capacity=np.maximum(sizes - 1, 0))
    n_validation = _allocate(sizes, validation, capacity=np.maximum(sizes - 1 - n_test, 0))
    order = rng.permutation(len(groups))
    shuffled = groups[order] if len(sizes) > 1 else None
    codes = np.full(len(groups), TRAIN, dtype=np.int8)
    for group in range(len(sizes)):  # a loop over classes, not rows
        members = order if shuffled is None else order[shuffled == group]  # this group's rows, shuffled
        codes[members[:n_test[group]]] = TEST
        codes[members[n_test[group]:n_test[group] + n_validation[group]]] = VALIDATION
    return codes


def rows_per_block(rows: int) -> np.ndarray:
    """The `BlockCounts.matrix` of `rows` rows all in one group."""
    counts = np.full(-(-rows // SPLIT_BLOCK), SPLIT_BLOCK, dtype=np.int64)
    if len(counts):
        counts[-1] = rows - (len(counts) - 1) * SPLIT_BLOCK
    return counts[:, None]


class BlockCounts:
    """How many rows of each group each block holds, counted from the groups of consecutive chunks of rows."""

    def __init__(self):
        self.rows = 0
        self.keys: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.groups: list[np.ndarray] | None = []  # every row's group while the rows fit in one block

    def add(self, groups: np.ndarray) -> None:
        if self.groups is not None:
            self.groups = self.groups + [np.asarray(groups, dtype=np.int64)] \
                if self.rows + len(groups) <= SPLIT_BLOCK else None
        blocks = (self.rows + np.arange(len(groups), dtype=np.int64)) // SPLIT_BLOCK
        keys, counts = np.unique(blocks << 32 | np.asarray(groups, dtype=np.int64), return_counts=True)
        self.keys.append(keys)
        self.counts.append(counts)
        self.rows += len(groups)

    def one_block(self, relabel: np.ndarray | None = None) -> np.ndarray | None:
        """Every row's group (renumbered through `relabel` if given) when the rows fit in one block, else None."""
        if self.groups is None:
            return None
        groups = np.concatenate(self.groups) if self.groups else np.zeros(0, dtype=np.int64)
        return relabel[groups] if relabel is not None else groups

    def matrix(self, relabel: np.ndarray | None = None, groups: int | None = None) -> np.ndarray:
        """Rows per (block, group), the groups renumbered through `relabel` if given."""
        keys = np.concatenate(self.keys) if self.keys else np.zeros(0, dtype=np.int64)
        counts = np.concatenate(self.counts) if self.counts else np.zeros(0, dtype=np.int64)
        found = keys & 0xFFFFFFFF
        found = relabel[found] if relabel is not None else found
        width = groups if groups is not None else int(found.max()) + 1 if len(found) else 1
        matrix = np.zeros((-(-self.rows // SPLIT_BLOCK), width), dtype=np.int64)
        np.add.at(matrix, (keys >> 32, found), counts)
        return matrix


class SplitPlan:
    """How many rows of each group each block gives to the test and validation splits, drawn from `rng`."""

    def __init__(self, counts: np.ndarray, validation: float, test: float, rng: np.random.Generator,
                 one_block: np.ndarray | None = None):
        self.whole = None  # a table of one block: its rows' codes, as `split_rows` gives them
        if one_block is not None and len(counts) <= 1:
            self.whole = permuted_split(one_block, validation, test, rng)
            return
        sizes = counts.sum(axis=0)
        n_test = _allocate(sizes, test, capacity=np.maximum(sizes - 1, 0))
        n_validation = _allocate(sizes, validation, capacity=np.maximum(sizes - 1 - n_test, 0))
        self.seed = int(rng.integers(2**63))
        self.counts = counts
        self.test, self.validation = np.zeros_like(counts), np.zeros_like(counts)
        draw = np.random.default_rng(self.seed)
        left, left_test, left_validation = sizes.copy(), n_test, n_validation
        for block, count in enumerate(counts):  # a loop over blocks, not rows
            test_rows = draw.hypergeometric(left_test, left - left_test, count)
            validation_rows = draw.hypergeometric(left_validation, left - left_test - left_validation,
                                                  count - test_rows)
            self.test[block], self.validation[block] = test_rows, validation_rows
            left, left_test, left_validation = left - count, left_test - test_rows, left_validation - validation_rows

    def block_codes(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """The codes of the block's rows grouped by group (each group's shuffled), and where each group starts."""
        counts = self.counts[block]
        group = np.repeat(np.arange(len(counts)), counts)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        place = np.arange(len(group)) - starts[group]
        test, validation = self.test[block][group], self.validation[block][group]
        codes = np.where(place < test, TEST, np.where(place < test + validation, VALIDATION, TRAIN)).astype(np.int8)
        keys = np.random.default_rng([self.seed, block]).random(len(group))
        return codes[np.lexsort((keys, group))], starts


class SplitStream:
    """The split codes of consecutive chunks of rows, given their groups: the k-th row of a group in a block takes
    the k-th of the group's codes in `SplitPlan.block_codes`, so chunk boundaries do not matter."""

    def __init__(self, plan: SplitPlan):
        self.plan, self.row, self.block = plan, 0, -1
        self.codes_of_block = self.starts = self.seen = None

    def codes(self, groups: np.ndarray) -> np.ndarray:
        if self.plan.whole is not None:
            self.row += len(groups)
            return self.plan.whole[self.row - len(groups):self.row]
        groups = np.asarray(groups, dtype=np.int64)
        out = np.empty(len(groups), dtype=np.int8)
        done = 0
        while done < len(groups):  # a loop over the blocks a chunk touches
            block = self.row // SPLIT_BLOCK
            if block != self.block:
                self.block = block
                self.codes_of_block, self.starts = self.plan.block_codes(block)
                self.seen = np.zeros(self.plan.counts.shape[1], dtype=np.int64)
            part = groups[done:done + min(len(groups) - done, (block + 1) * SPLIT_BLOCK - self.row)]
            out[done:done + len(part)] = self.codes_of_block[self.starts[part] + self.seen[part] + _ranks(part)]
            self.seen += np.bincount(part, minlength=len(self.seen))
            done += len(part)
            self.row += len(part)
        return out


def _ranks(groups: np.ndarray) -> np.ndarray:
    """How many earlier entries of `groups` equal each entry."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - np.searchsorted(ordered, ordered, side="left")
    return ranks


def _allocate(sizes: np.ndarray, fraction: float, capacity: np.ndarray) -> np.ndarray:
    """Split round(total·fraction) rows across groups in proportion to their sizes, within capacity."""
    ideal = sizes * fraction
    counts = np.minimum(np.floor(ideal).astype(np.int64), capacity)
    remaining = int(round(sizes.sum() * fraction)) - int(counts.sum())
    if remaining > 0:
        room = counts < capacity
        priority = np.lexsort((np.arange(len(sizes)), -(ideal - np.floor(ideal))))
        chosen = [g for g in priority if room[g]][:remaining]
        counts[chosen] += 1
    return counts
