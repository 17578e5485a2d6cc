"""The rows of a prepared `.npy` file, read from disk as they are asked for, into memory the process owns.

A memory map would be simpler, but every page of it a process has read counts as its memory until
the kernel wants the page back, and a kernel that keeps files in large page-cache folios maps a
whole folio (up to 2 MB) for one row read: a shuffled batch gathered from a map of a table bigger
than RAM maps hundreds of MB. `StoredRows` reads with `os.preadv` instead: the page cache still
holds the file once for every run reading it, and the process holds only the blocks it keeps.

A shuffled gather (`take`) reads whole blocks of BLOCK_ROWS rows and keeps the most recent ones
(`keep_rows`, at least the block shuffle's window, see `train.shuffle`), so an epoch reads each
block once. Keeping none (`keep_rows=0`) suits rows visited in a full shuffle, such as the image
cache's: `take` then reads only the rows asked for, one read per run of consecutive rows, into a
buffer reused from gather to gather.
"""

import math
import os
from pathlib import Path

import numpy as np

BLOCK_ROWS = 1024  # as train.shuffle.BLOCK_ROWS: the blocks a block shuffle visits
KEPT_ROWS = 1 << 18  # rows of recent blocks kept for `take` unless `keep_rows` says otherwise
MAX_READ = 1 << 30  # bytes read by one call (Linux reads at most about 2 GB at once)


class StoredRows:
    """`len`, `shape`, `dtype`, slicing, `take` and `np.asarray` over the rows of a `.npy` file."""

    def __init__(self, path: str | Path, keep_rows: int = KEPT_ROWS):
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            self.shape, fortran, self.dtype = read(handle)
            self.offset = handle.tell()
        if fortran:
            raise ValueError(f"{self.path}: a prepared array is stored in C order")
        self.row_bytes = self.dtype.itemsize * math.prod(self.shape[1:])
        self._fd = os.open(self.path, os.O_RDONLY)
        self._read_rows = np.empty((0, *self.shape[1:]), dtype=self.dtype)  # the buffer of `_gather`
        self.keep_rows(keep_rows)

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def keep_rows(self, rows: int) -> None:
        """Keep the blocks of at least `rows` recent rows for `take` (a block shuffle's window, twice over);
        0 keeps none, and `take` reads just the rows it is asked for (a full shuffle's, which share no block)."""
        if rows == 0:
            self._kept = self._slot_of = self._block_in = None
            return
        blocks = max(4, -(-rows // BLOCK_ROWS))
        self._kept = np.empty((blocks * BLOCK_ROWS, *self.shape[1:]), dtype=self.dtype) if len(self) else None
        self._slot_of = np.full(-(-len(self) // BLOCK_ROWS), -1, dtype=np.int64)  # a number per block, not per row
        self._block_in = np.full(blocks, -1, dtype=np.int64)
        self._next = 0

    def read(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows start..stop, contiguous, read into `out` (or a new array)."""
        out = np.empty((stop - start, *self.shape[1:]), dtype=self.dtype) if out is None else out
        view = memoryview(out.reshape(-1).view(np.uint8))
        done, offset = 0, self.offset + start * self.row_bytes
        while done < len(view):  # a loop over reads of up to MAX_READ bytes
            count = os.preadv(self._fd, [view[done:done + MAX_READ]], offset + done)
            if count == 0:
                raise OSError(f"{self.path}: shorter than its header says; prepare it again")
            done += count
        return out

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = self.read(start, max(start, stop))
            return rows if step == 1 else rows[::step].copy()
        if isinstance(index, (int, np.integer)):
            position = range(len(self))[index]
            return self.read(position, position + 1)[0]
        return self.take(np.asarray(index))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.read(0, len(self))
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def take(self, rows, axis: int = 0, out: np.ndarray | None = None, mode: str = "raise") -> np.ndarray:
        """The rows at positions `rows`, into `out` if given (as `ndarray.take` along axis 0)."""
        if axis != 0:
            raise ValueError("StoredRows.take gathers whole rows (axis=0)")
        rows = np.asarray(rows, dtype=np.int64)
        if mode == "raise" and len(rows) and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"{self.path}: row index out of range for {len(self)} rows")
        rows = np.where(rows < 0, rows + len(self), rows)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype) if out is None else out
        if self._slot_of is None:
            return self._gather(rows, out)
        blocks = rows // BLOCK_ROWS
        slots = self._slot_of[blocks]
        if (slots < 0).any():  # a gather that reads blocks not kept (the first of each window)
            needed = np.unique(blocks)
            if len(needed) > len(self._block_in):  # more blocks than are kept: read each once, keep none
                for block in needed:  # a loop over blocks, not rows
                    chosen = blocks == block
                    out[chosen] = self._read_block(block)[rows[chosen] - block * BLOCK_ROWS]
                return out
            self._keep(needed)
            slots = self._slot_of[blocks]
        return np.take(self._kept, slots * BLOCK_ROWS + rows % BLOCK_ROWS, axis=0, out=out)

    def _gather(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The rows at `rows` into `out`, each run of consecutive rows among them read with one call."""
        if not len(rows):
            return out
        wanted, where = np.unique(rows, return_inverse=True)
        if len(self._read_rows) < len(wanted):
            self._read_rows = np.empty((len(wanted), *self.shape[1:]), dtype=self.dtype)
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        for first, last in zip([0, *breaks.tolist()], [*breaks.tolist(), len(wanted)]):  # a loop over runs of rows
            self.read(int(wanted[first]), int(wanted[last - 1]) + 1, self._read_rows[first:last])
        return np.take(self._read_rows, where.reshape(-1), axis=0, out=out)

    def _keep(self, needed: np.ndarray) -> None:
        """Read the blocks of `needed` not kept yet into the oldest slots that hold none of `needed`."""
        missing = needed[self._slot_of[needed] < 0]
        held = np.zeros(len(self._block_in), dtype=bool)
        held[self._slot_of[needed[self._slot_of[needed] >= 0]]] = True
        slots = (np.arange(len(held)) + self._next) % len(held)
        slots = slots[~held[slots]][:len(missing)]
        for block, slot in zip(missing, slots):  # a loop over the blocks not yet kept
            if self._block_in[slot] >= 0:
                self._slot_of[self._block_in[slot]] = -1
            self._read_block(block, self._kept[slot * BLOCK_ROWS:(slot + 1) * BLOCK_ROWS])
            self._slot_of[block], self._block_in[slot] = slot, block
        if len(slots):
            self._next = (int(slots[-1]) + 1) % len(held)

    def _read_block(self, block: int, out: np.ndarray | None = None) -> np.ndarray:
        start = int(block) * BLOCK_ROWS
        stop = min(len(self), start + BLOCK_ROWS)
        return self.read(start, stop, None if out is None else out[:stop - start])
