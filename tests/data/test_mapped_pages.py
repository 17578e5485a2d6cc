"""A memory-mapped prepared array read whole leaves the process's resident set once trimmed."""

import numpy as np

from nntrain.data import mapped_pages


def _file_pages_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssFile in /proc/self/status")


def test_pages_read_from_a_trimmed_map_leave_the_resident_set(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(16 * 2**20, dtype=np.float32))  # 64 MB
    array = mapped_pages.trim_pages(np.load(path, mmap_mode="r"))
    with mapped_pages._lock:  # the thread cannot trim while the pages are counted
        before = _file_pages_mb()
        assert float(array[::1024].sum()) == float(np.arange(0, 16 * 2**20, 1024, dtype=np.float64).sum())
        assert _file_pages_mb() - before > 48  # every page was read in
    mapped_pages.trim_now()
    assert _file_pages_mb() - before < 8
    assert float(array[-1]) == 16 * 2**20 - 1  # and can be read again
