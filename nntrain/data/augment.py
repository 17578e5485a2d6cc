"""Random image augmentation for training batches: flips, shifts and small rotations.

Vectorised over the batch (no loop over images or pixels) and driven by its
own seeded generator, whose state is saved with checkpoints so a resumed run
draws the same augmentations.
"""

import numpy as np

from nntrain.errors import ConfigError


class Augmenter:
    def __init__(self, flip_horizontal: bool = False, shift: int = 0, rotate: float = 0.0):
        self.flip_horizontal, self.shift, self.rotate = flip_horizontal, shift, rotate

    @property
    def active(self) -> bool:
        return bool(self.flip_horizontal or self.shift or self.rotate)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A new augmented copy of an NHWC batch."""
        out = batch.copy()
        if self.flip_horizontal:
            flip = rng.random(len(out)) < 0.5
            out[flip] = out[flip, :, ::-1, :]
        if self.shift:
            out = shift(out, rng.integers(-self.shift, self.shift + 1, size=(2, len(out))))
        if self.rotate:
            out = rotate(out, np.deg2rad(rng.uniform(-self.rotate, self.rotate, size=len(out))))
        return out


def shift_note(pixels: int, size: tuple[int, int]) -> str | None:
    """Refuse a shift that can push every pixel of an image out of view (leaving only its repeated
    edge); a note when it can move more than a quarter of the image's smaller side."""
    side = min(size)
    images = f"the {size[0]}x{size[1]} images ({side} pixels)"
    quarter = f"at most {side // 4} (a quarter of the side)"
    if pixels >= side:
        raise ConfigError(f"data.augment.shift: {pixels} is not below the smaller side of {images}, so a shifted "
                          f"image can be nothing but repeated edge pixels; use {quarter}")
    if pixels > side / 4:
        return (f"data.augment.shift: {pixels} is over a quarter of the smaller side of {images}; shifts that large "
                f"can move what tells the classes apart out of view; {quarter} is safer")
    return None


def shift(batch: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move image i by offsets[0, i] rows and offsets[1, i] columns, repeating edge pixels."""
    n, height, width, _ = batch.shape
    k = int(np.abs(offsets).max())
    if k == 0:
        return batch
    padded = np.pad(batch, ((0, 0), (k, k), (k, k), (0, 0)), mode="edge")
    rows = (k - offsets[0])[:, None] + np.arange(height)
    cols = (k - offsets[1])[:, None] + np.arange(width)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def rotate(batch: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate image i counter-clockwise by angles[i] radians about its centre (nearest pixel, edges repeated)."""
    n, height, width, _ = batch.shape
    cy, cx = (height - 1) / 2, (width - 1) / 2
    y, x = np.mgrid[0:height, 0:width]
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    source_y = cos * (y - cy) + sin * (x - cx) + cy
    source_x = -sin * (y - cy) + cos * (x - cx) + cx
    rows = np.clip(np.rint(source_y), 0, height - 1).astype(np.intp)
    cols = np.clip(np.rint(source_x), 0, width - 1).astype(np.intp)
    return batch[np.arange(n)[:, None, None], rows, cols]
