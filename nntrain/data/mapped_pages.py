"""Memory-mapped arrays whose pages the process lets go of as it reads on, so reading a prepared directory
bigger than RAM does not show as the process's memory.

A page of a memory map that a process has read stays in its resident set until the kernel needs the
memory, so an epoch over a 2 GB training set would report a peak near 2 GB though it needs a
window of it. Every TRIM_SECONDS a daemon thread tells the kernel (madvise MADV_DONTNEED) that the
process no longer needs the pages of each map it was given: they leave the resident set and stay in
the page cache, so reading them again is a page fault served from memory, not a disk read. The
maps are read-only file maps, so a page dropped while a batch is gathered is simply faulted in again.
"""

import mmap
import threading
import time
import weakref

import numpy as np

TRIM_SECONDS = 0.1

_maps: "weakref.WeakSet[mmap.mmap]" = weakref.WeakSet()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def trim_pages(array: np.ndarray) -> np.ndarray:
    """`array` (a memory map from `np.load(mmap_mode="r")`), its pages dropped from the process as it goes."""
    pages = getattr(array, "_mmap", None)
    if isinstance(pages, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        global _thread
        with _lock:
            _maps.add(pages)
            if _thread is None:
                _thread = threading.Thread(target=_trim_forever, name="nntrain-trim-pages", daemon=True)
                _thread.start()
    return array


def _trim_forever() -> None:
    while True:
        time.sleep(TRIM_SECONDS)
        trim_now()


def trim_now() -> None:
    """Drop the pages of every map given to `trim_pages` from the process now."""
    with _lock:
        maps = list(_maps)
    for pages in maps:
            try:
                pages.madvise(mmap.MADV_DONTNEED)
            except (ValueError, OSError):  # closed since it was listed
                pass
