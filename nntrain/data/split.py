"""Deterministic, optionally stratified train/validation/test splits."""

import numpy as np

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")


def split_rows(groups: np.ndarray, validation: float, test: float, rng: np.random.Generator) -> np.ndarray:
    """Assign each row a split code (TRAIN, VALIDATION or TEST).

    `groups` are integer codes (class indices when stratifying, all zeros
    otherwise). Each group gives the same share of its rows to each split, the
    counts are rounded so the totals match the fractions (largest remainder),
    and every group keeps at least one training row.
    """
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
