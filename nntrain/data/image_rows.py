"""Rows of a uint8 image store read as model input, one batch at a time.

A split of an image folder is the row numbers it takes from the decoded pixels (usually the
image cache's, read from disk as batches take them: `stored_rows.StoredRows`), so the splits
share one copy of the pixels at a quarter of the float32 size, and a batch's pixels are gathered
into one uint8 buffer reused from batch to batch. Every batch is scaled exactly as a whole float array used to be:
float32 /255 (`images.unit_scaled`), cast to the model's dtype, then (x − mean)/std per channel
in that dtype, so the floats are bit for bit the same.
"""

import math

import numpy as np

from nntrain.data.images import normalise

PIECE_BYTES = 2**20  # pixels gathered at a time while a batch is scaled


class ImageRows:
    """`stored[rows]` as model input: supports `len`, `shape`, `dtype`, slicing and `take`, as the
    training loop and `Model.predict` use an array."""

    def __init__(self, stored: np.ndarray, rows: np.ndarray, dtype, mean: list[float] | None = None,
                 std: list[float] | None = None):
        self.stored, self.rows = stored, np.asarray(rows, dtype=np.intp)
        self.dtype = np.dtype(dtype)
        self.mean, self.std = mean, std
        self._pixels = np.empty((0, *stored.shape[1:]), dtype=np.uint8)  # the gathered pixels, reused

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.stored.shape[1:])

    def __getitem__(self, index) -> np.ndarray:
        """Model input of the rows `index` selects (a slice or row positions)."""
        return self.take(np.arange(len(self.rows))[index] if isinstance(index, slice) else index)

    def take(self, positions, axis: int = 0, out: np.ndarray | None = None, mode: str = "raise") -> np.ndarray:
        """Model input of the rows at `positions`, into `out` if given (as `ndarray.take`, rows only)."""
        if axis != 0:
            raise ValueError("ImageRows.take gathers whole rows (axis=0)")
        rows = self.rows[np.asarray(positions)]
        if out is None:
            out = np.empty((*rows.shape, *self.stored.shape[1:]), dtype=self.dtype)
        step = max(1, PIECE_BYTES // max(1, math.prod(self.stored.shape[1:])))
        if len(self._pixels) < min(step, len(rows)):
            self._pixels = np.empty((min(step, len(rows)), *self.stored.shape[1:]), dtype=np.uint8)
        for start in range(0, len(rows), step):  # a loop over pieces of rows, not over rows: the pixels gathered
            piece = rows[start:start + step]  # stay small
            pixels = self.stored.take(piece, axis=0, out=self._pixels[:len(piece)], mode=mode)
            np.divide(pixels, np.float32(255.0), out=out[start:start + step], dtype=np.float32)  # widened after
        if self.mean is not None:
            normalise(out, self.mean, self.std)
        return out
