"""Epoch orders: a full shuffle, or blocks in a random order shuffled within windows."""

import numpy as np

from nntrain.train.shuffle import epoch_order


def test_a_buffer_as_big_as_the_rows_is_a_full_shuffle():
    assert np.array_equal(epoch_order(500, np.random.default_rng(4), 500), np.random.default_rng(4).permutation(500))
    assert np.array_equal(epoch_order(500, np.random.default_rng(4)), np.random.default_rng(4).permutation(500))


def test_a_block_shuffle_is_a_seeded_permutation_whose_windows_read_whole_blocks():
    rows, buffer, block = 10_000, 3000, 1024
    order = epoch_order(rows, np.random.default_rng(7), buffer)
    assert np.array_equal(np.sort(order), np.arange(rows))
    assert np.array_equal(order, epoch_order(rows, np.random.default_rng(7), buffer))
    assert not np.array_equal(order, epoch_order(rows, np.random.default_rng(8), buffer))
    window = 2048  # whole blocks: 3000 rows less the part of a block
    for start in range(0, rows, window):
        blocks = np.unique(order[start:start + window] // block)
        assert len(blocks) <= window // block  # a window gathers from two blocks only
    assert not np.array_equal(order[:window] % block, np.sort(order[:window] % block))  # shuffled inside
