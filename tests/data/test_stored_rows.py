"""Rows of a prepared `.npy` file read from disk: slices, gathers and the whole array equal the array's."""

import numpy as np

from nntrain.data import stored_rows
from nntrain.data.stored_rows import StoredRows


def test_stored_rows_read_as_the_array_whatever_is_kept(tmp_path):
    array = np.random.default_rng(0).normal(size=(5000, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", array)
    rows = StoredRows(tmp_path / "x.npy")
    assert (len(rows), rows.shape, rows.dtype, rows.ndim) == (5000, (5000, 3), np.float32, 2)
    np.testing.assert_array_equal(np.asarray(rows), array)
    np.testing.assert_array_equal(rows[4090:4999], array[4090:4999])
    np.testing.assert_array_equal(rows[-1], array[-1])
    rng = np.random.default_rng(1)
    for kept in (4 * stored_rows.BLOCK_ROWS, 3000, 10_000):  # fewer blocks kept than a gather reads, and more
        rows.keep_rows(kept)
        for _ in range(30):
            chosen = rng.integers(0, 5000, 256)
            out = np.empty((256, 3), dtype=np.float32)
            np.testing.assert_array_equal(rows.take(chosen, axis=0, out=out, mode="clip"), array[chosen])
            np.testing.assert_array_equal(rows[chosen[:7]], array[chosen[:7]])


def test_a_block_kept_and_read_again_is_not_evicted_by_the_same_gather(tmp_path):
    array = np.arange(10 * stored_rows.BLOCK_ROWS, dtype=np.int64)
    np.save(tmp_path / "y.npy", array)
    rows = StoredRows(tmp_path / "y.npy")
    rows.keep_rows(4 * stored_rows.BLOCK_ROWS)  # four blocks kept
    block = stored_rows.BLOCK_ROWS
    rows.take([0, block, 2 * block, 3 * block])  # blocks 0-3 kept; block 0 is the oldest
    chosen = np.array([5, 4 * block + 1, 5 * block + 2, 6 * block + 3])  # block 0 again, and three new ones
    np.testing.assert_array_equal(rows.take(chosen), array[chosen])


def test_keeping_no_block_reads_just_the_rows_asked_for(tmp_path, monkeypatch):
    array = np.random.default_rng(2).integers(0, 256, (3000, 4, 3), dtype=np.uint8)
    np.save(tmp_path / "pixels.npy", array)
    rows = StoredRows(tmp_path / "pixels.npy", keep_rows=0)
    reads, real = [], rows.read

    def counted(start, stop, out=None):
        reads.append((start, stop))
        return real(start, stop, out)

    monkeypatch.setattr(rows, "read", counted)
    chosen = np.array([7, 2999, 5, 6, 7, -1, 1500, 4])  # repeated, negative, and two runs of consecutive rows
    np.testing.assert_array_equal(rows.take(chosen), array[chosen])
    assert reads == [(4, 8), (1500, 1501), (2999, 3000)]  # one read per run, each row once
    out = np.empty((2, 4, 3), dtype=np.uint8)
    assert rows.take([10, 11], out=out) is out and np.array_equal(out, array[10:12])
    assert rows.take(np.zeros(0, dtype=np.int64)).shape == (0, 4, 3)
    np.testing.assert_array_equal(rows[np.arange(2990, 3000)], array[2990:])
