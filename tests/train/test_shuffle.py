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


def _whole_block_order(rows: int, rng: np.random.Generator, buffer: int) -> np.ndarray:
    """The block shuffle held whole, as it was drawn before it was made window by window."""
    block = min(1024, buffer)
    buffer -= buffer % block
    starts = rng.permutation(-(-rows // block)) * block
    order = (starts[:, None] + np.arange(block)[None, :]).ravel()
    order = order[order < rows]
    for start in range(0, rows, buffer):
        rng.shuffle(order[start:start + buffer])
    return order


def test_a_block_shuffle_made_window_by_window_equals_the_whole_order_and_leaves_the_generator_alike():
    for rows, buffer in ((10_000, 3000), (10_240, 2048), (5000, 1000), (1500, 4000 - 1)):
        rng, whole_rng = np.random.default_rng(11), np.random.default_rng(11)
        order = epoch_order(rows, rng, buffer)
        whole = _whole_block_order(rows, whole_rng, buffer)
        assert rng.bit_generator.state == whole_rng.bit_generator.state
        if isinstance(order, np.ndarray):  # a buffer as big as the rows: a full shuffle
            continue
        for batch in (1, 64, 1000, 2500):  # slices within and across windows, in order and out of it
            starts = list(range(0, rows, batch))
            for start in starts[::-1] + starts:
                np.testing.assert_array_equal(order[start:start + batch], whole[start:start + batch])
