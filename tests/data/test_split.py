"""Splits: exact stratified counts, determinism, and a training row for every class."""

import numpy as np

from nntrain.data.split import TEST, TRAIN, VALIDATION, split_rows


def test_stratified_counts_per_class():
    groups = np.repeat([0, 1, 2], [50, 30, 20])
    codes = split_rows(groups, 0.2, 0.1, np.random.default_rng(0))
    for group, size in zip(range(3), (50, 30, 20)):
        mine = codes[groups == group]
        assert (mine == VALIDATION).sum() == round(size * 0.2)
        assert (mine == TEST).sum() == round(size * 0.1)
    assert (codes == TRAIN).sum() == 70


def test_totals_follow_the_fractions_even_when_classes_are_small():
    groups = np.repeat(np.arange(6), 3)      # 18 rows: 0.2 of each class rounds to 0, of all rows to 4
    codes = split_rows(groups, 0.2, 0.0, np.random.default_rng(0))
    assert (codes == VALIDATION).sum() == 4
    assert all((codes[groups == g] == TRAIN).sum() >= 1 for g in range(6))


def test_same_seed_same_split_and_different_seed_different_split():
    groups = np.zeros(100, dtype=np.int64)
    a = split_rows(groups, 0.2, 0.2, np.random.default_rng(3))
    b = split_rows(groups, 0.2, 0.2, np.random.default_rng(3))
    c = split_rows(groups, 0.2, 0.2, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_single_row_class_stays_in_training():
    groups = np.array([0] * 20 + [1])
    codes = split_rows(groups, 0.3, 0.3, np.random.default_rng(0))
    assert codes[-1] == TRAIN


def test_split_read_in_chunks_equals_the_whole_split_across_blocks(monkeypatch):
    import nntrain.data.split as split
    monkeypatch.setattr(split, "SPLIT_BLOCK", 64)  # many blocks in a small table
    groups = np.random.default_rng(1).integers(0, 3, 1000)
    whole = split_rows(groups, 0.2, 0.1, np.random.default_rng(7))
    counts = split.BlockCounts()
    for start in range(0, len(groups), 97):
        counts.add(groups[start:start + 97])
    stream = split.SplitStream(split.SplitPlan(counts.matrix(), 0.2, 0.1, np.random.default_rng(7)))
    chunked = np.concatenate([stream.codes(groups[start:start + 41]) for start in range(0, len(groups), 41)])
    np.testing.assert_array_equal(chunked, whole)
    for group in range(3):  # the totals are exact over all the blocks
        size = (groups == group).sum()
        assert (whole[groups == group] == TEST).sum() == round(size * 0.1)
        assert (whole[groups == group] == VALIDATION).sum() == round(size * 0.2)
    assert len({tuple(whole[start:start + 64]) for start in range(0, 1000, 64)}) > 1  # blocks are drawn apart


def test_split_keeps_no_code_per_row_between_blocks(monkeypatch):
    import nntrain.data.split as split
    monkeypatch.setattr(split, "SPLIT_BLOCK", 64)
    plan = split.SplitPlan(split.rows_per_block(1000), 0.2, 0.1, np.random.default_rng(0))
    assert plan.test.shape == plan.validation.shape == (16, 1)  # a count per block and group
    assert plan.test.sum() == 100 and plan.validation.sum() == 200
