"""Image folders: one subfolder per class, decoded safely into NHWC uint8 pixels (floats in 0..1 on request).

Only an allow-list of formats is decoded, sizes are checked before any pixel is
allocated (decompression bombs), and every image is fully decoded so truncated
files are caught here, not halfway through training. Unreadable files are
skipped and reported (or refused, with `on_bad_image: error`).
"""

import os
import re
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntrain.errors import ConfigError, DataError
from nntrain.words import counted

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
MAX_PIXELS = 40_000_000  # larger images are refused before decoding
RESAMPLING = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1}  # Pillow's resampling codes
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
GRAY_MODES = ("1", "L", "LA", "F", *SIXTEEN_BIT)
SAMPLE_SIZE = 200       # image headers read to choose a default size and colour mode
DECODE_WORKERS = min(8, os.cpu_count() or 1)
CHUNK_BYTES = 64 * 2**20  # size of the temporary array in each pass of a chunked loop


class BadImage(Exception):
    """A file that is not a readable image of an allowed format."""


@dataclass(frozen=True)
class ImageSpec:
    color: str                      # "grayscale" or "rgb"
    size: tuple[int, int] | None    # (height, width); None: the most common size among sampled images
    resize: str = "bilinear"

    @property
    def channels(self) -> int:
        return 1 if self.color == "grayscale" else 3


def class_folders(root: Path, key: str = "data.train") -> dict[str, list[Path]]:
    """Image files per class folder under `root`, classes sorted by name, files sorted by path."""
    if not root.is_dir():
        raise ConfigError(f"{key}: {root} is not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(f"{key}: {root} has no class subfolders; put each class's images in "
                          f"{root}/<class name>/")
    files = {folder.name: list_files(folder) for folder in folders}
    empty = [name for name, paths in files.items() if not paths]
    if empty:
        raise ConfigError(f"{key}: class folder{'s' if len(empty) > 1 else ''} "
                          f"{', '.join(str(root / name) for name in empty)} "
                          f"{'are' if len(empty) > 1 else 'is'} empty; add images or remove the folder")
    return files


def ignored_files_note(root: Path, shown: int = 3) -> str | None:
    """A note naming the files directly in `root`, which belong to no class and are not read."""
    stray = sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    if not stray:
        return None
    listed = ", ".join(stray[:shown]) + (f" and {len(stray) - shown} more" if len(stray) > shown else "")
    return (f"ignored {counted(len(stray), 'file')} at the top of {root}/ ({listed}): "
            "images go in one subfolder per class")


def list_files(folder: Path) -> list[Path]:
    """Every non-hidden file below `folder`, recursively, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts))


def read_image(path: Path, spec: ImageSpec, size: tuple[int, int]) -> np.ndarray:
    """One image as float32 (H, W, C) in 0..1 (see `unit_scaled`); BadImage if it cannot be used."""
    return unit_scaled(read_pixels(path, spec, size))


def read_pixels(path: Path, spec: ImageSpec, size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 (H, W, C); BadImage if it cannot be used. Call it through `decode_into`, which
    keeps Pillow's DecompressionBombWarning (for files refused here anyway) off stderr."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path, formats=FORMATS) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadImage(_too_large(width * height))
            image.load()
            return _to_array(image, spec, size)
    except FileNotFoundError:
        raise BadImage("not found") from None
    except IsADirectoryError:
        raise BadImage("a folder, not an image file") from None
    except UnidentifiedImageError:
        if path.stat().st_size == 0:  # asked only of a file that failed: a stat per file costs ~3% of a small one
            raise BadImage("empty file") from None
        raise BadImage(f"not an image in an allowed format ({', '.join(FORMATS)})") from None
    except Image.DecompressionBombError as exc:  # Pillow's own, looser limit, hit while opening
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        raise BadImage(_too_large(int(declared.group(1)) if declared else None)) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"cannot be decoded ({exc})") from None


def unit_scaled(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in 0..1: every path from pixels to model input divides the same way."""
    array = pixels.astype(np.float32)
    array /= 255.0
    return array


def _too_large(pixels: int | None) -> str:
    declared = f"{pixels:,} pixels" if pixels else "too many pixels"
    return f"declares {declared}, over the limit of {MAX_PIXELS:,} (a decompression bomb?)"


def _to_array(image, spec: ImageSpec, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if image.mode in SIXTEEN_BIT:  # round 16-bit values to 8 bits, which Pillow's own conversion would clip
        deep = np.asarray(image, dtype=np.int64)
        image = Image.fromarray(((np.clip(deep, 0, 65535) + 128) // 257).astype(np.uint8), mode="L")
    elif image.mode == "F":  # floating-point pixels are read as 0..1
        image = Image.fromarray(np.rint(np.clip(np.asarray(image), 0, 1) * 255).astype(np.uint8), mode="L")
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    mode = "L" if spec.channels == 1 else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    if (image.height, image.width) != size:
        image = image.resize((size[1], size[0]), RESAMPLING[spec.resize])
    array = np.asarray(image, dtype=np.uint8)
    return array[:, :, None] if spec.channels == 1 else array


def sample_files(files: dict[str, list[Path]], limit: int = SAMPLE_SIZE) -> list[Path]:
    """Up to `limit` files (at least one per class), shared evenly between the classes and evenly spaced
    within each, so one odd file or one odd class does not decide for the whole folder. Deterministic."""
    take, left = {}, limit
    by_count = sorted(files, key=lambda name: len(files[name]))  # small classes first: their spare share goes on
    for position, name in enumerate(by_count):
        take[name] = min(len(files[name]), max(1, left // (len(by_count) - position)))
        left -= take[name]
    return [paths[index] for name, paths in files.items()
            for index in np.linspace(0, len(paths) - 1, take[name]).round().astype(int)]


@dataclass(frozen=True)
class Survey:
    """Sizes and colour modes read from image headers (no pixels decoded)."""

    sizes: Counter          # (height, width) -> files
    gray: int               # files stored as grayscale
    color: int              # files stored in colour (RGB, palette, CMYK ...)

    @property
    def size(self) -> tuple[int, int]:
        """The most common size (ties: the one sampled first)."""
        return self.sizes.most_common(1)[0][0]

    @property
    def mode(self) -> str:
        """Grayscale when most files are gray, else rgb (a tie keeps the colour)."""
        return "grayscale" if self.gray > self.color else "rgb"

    @property
    def readable(self) -> int:
        """Sampled files whose header could be read."""
        return self.gray + self.color

    def size_note(self, root: Path, shown: int = 3) -> str | None:
        if len(self.sizes) < 2:
            return None
        common = self.sizes.most_common()
        listed = ", ".join(f"{h}x{w} ({counted(n, 'file')})" for (h, w), n in common[:shown])
        if len(common) > shown:
            listed += f" and {counted(len(common) - shown, 'other size')}"
        height, width = self.size
        return f"sizes vary among {counted(self.readable, 'sampled image')} of {root}: {listed}; using {height}x{width}"

    def mode_note(self, root: Path) -> str | None:
        if not (self.gray and self.color):
            return None
        return (f"colour modes vary among {counted(self.readable, 'sampled image')} of {root}: {self.gray} grayscale, "
                f"{self.color} colour; using {self.mode}")


def survey(files: dict[str, list[Path]], root: Path) -> Survey:
    """Sizes and modes of a sample of the images below `root` (see `sample_files`), for configs that
    do not set them; DataError if no sampled file is a readable image."""
    sample = sample_files(files)
    headers = [header for header in map(_header, sample) if header]
    if not headers:
        raise DataError(f"{root}: none of the {counted(len(sample), 'sampled file')} is a readable image "
                        f"({', '.join(FORMATS)})")
    gray = sum(mode in GRAY_MODES for _, mode in headers)
    return Survey(Counter(size for size, _ in headers), gray, len(headers) - gray)


def _header(path: Path) -> tuple[tuple[int, int], str] | None:
    """((height, width), mode) from the file's header, or None if it is not a usable image."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None  # refused when decoded; its size must not vote
                return (image.height, image.width), image.mode
    except Exception:  # any unreadable file is reported, with its reason, when it is decoded
        return None


def decoded_bytes(files: int, size: tuple[int, int], channels: int, dtype, workers: int = DECODE_WORKERS) -> int:
    """Bytes decoding needs at its peak, before any file is opened: the output array
    (files × H × W × C × itemsize: uint8 for the image cache, the model's dtype for predict) plus,
    per decoding thread, the float32 image in flight (H × W × C × 4). Pillow's own buffers, at the
    files' stored size, come on top."""
    pixels = size[0] * size[1] * channels
    return files * pixels * np.dtype(dtype).itemsize + workers * pixels * np.dtype(np.float32).itemsize


def decode_into(store: np.ndarray, paths: list[Path], read: Callable[[Path], np.ndarray],
                advance: Callable[[int], None] | None = None) -> list[str | None]:
    """`store[i] = read(paths[i])` by a pool of threads (Pillow releases the GIL while it decodes);
    returns each file's problem, None for the readable ones. `advance(1)` is called per file done."""

    def attempt(index: int) -> str | None:
        try:
            store[index] = read(paths[index])
        except BadImage as problem:
            return str(problem)
        return None

    from PIL import Image

    reasons = []
    # Once around the pool, not per file: the filters are the process's, and a per-thread
    # catch_warnings restores them while other threads still decode
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=DECODE_WORKERS) as pool:
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for reason in pool.map(attempt, range(len(paths))):
            reasons.append(reason)
            if advance:
                advance(1)
    return reasons


def refuse_bad(problems: list[tuple[Path, str]], on_bad: str) -> None:
    """DataError naming the first unreadable file, with `on_bad_image: error`."""
    if problems and on_bad == "error":
        path, reason = problems[0]
        raise DataError(f"{path}: {reason}" + (f" (and {len(problems) - 1} more bad images)"
                                               if len(problems) > 1 else ""))


def load_images(paths: list[Path], spec: ImageSpec, size: tuple[int, int], dtype,
                on_bad: str = "skip") -> tuple[np.ndarray, np.ndarray, list[tuple[Path, str]]]:
    """Decode images in parallel into floats in 0..1; returns the array of readable ones, which were
    readable, and the problems.

    The threads decode straight into one array allocated up front, so memory peaks at about the
    size of the result (see `decoded_bytes`), not twice it as stacking a list of images would.
    """
    batch = np.empty((len(paths), *size, spec.channels), dtype=dtype)
    reasons = decode_into(batch, paths, lambda path: read_image(path, spec, size))
    problems = [(path, reason) for path, reason in zip(paths, reasons) if reason]
    refuse_bad(problems, on_bad)
    ok = np.array([reason is None for reason in reasons], dtype=bool)
    return keep_rows(batch, ok), ok, problems


def keep_rows(batch: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`batch[keep]` in place, as a view of `batch`'s first rows, without a second array.

    Kept rows only move towards the front, so copying them in chunks front to back never
    overwrites a row still to be moved; each chunk's temporary stays under CHUNK_BYTES.
    """
    source = np.flatnonzero(keep)
    moved = np.flatnonzero(source != np.arange(len(source)))
    if len(moved):
        step = max(1, CHUNK_BYTES // batch[0].nbytes)
        for start in range(moved[0], len(source), step):  # a loop over chunks of rows, not over rows
            chunk = source[start:start + step]
            batch[start:start + len(chunk)] = batch[chunk]
    return batch[:len(source)]


def problems_note(problems: list[tuple[Path, str]], shown: int = 3) -> str | None:
    """One warning line for skipped images: the count and the first few paths with reasons."""
    if not problems:
        return None
    listed = "; ".join(f"{path} ({reason})" for path, reason in problems[:shown])
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"skipped {counted(len(problems), 'unreadable image file')}: {listed}{more}"


def pixel_statistics(pixels: np.ndarray, rows: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of `pixels[rows]` read as 0..1 (`unit_scaled`); std 0 becomes 1.

    Computed from how often each of the 256 values occurs per channel, so the sums have 256 terms in
    float64 (exact to float64 rounding) and no float copy of the images is ever made.
    """
    channels = pixels.shape[-1]
    counts = np.zeros((channels, 256), dtype=np.int64)
    step = max(1, CHUNK_BYTES // 8 // max(pixels[0].size, 1))  # bincount widens each chunk to int64
    for start in range(0, len(rows), step):  # a loop over chunks of images, not over images
        chunk = pixels[rows[start:start + step]]
        for channel in range(channels):
            counts[channel] += np.bincount(chunk[..., channel].ravel(), minlength=256)
    values = unit_scaled(np.arange(256, dtype=np.uint8)).astype(np.float64)
    total = np.maximum(counts.sum(axis=1), 1)
    mean = counts @ values / total
    variance = (counts * np.square(values[None, :] - mean[:, None])).sum(axis=1) / total
    std = np.sqrt(variance)
    return [float(v) for v in mean], [float(v) if v > 0 else 1.0 for v in std]


def normalise(x: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """(x − mean)/std per channel, in place, keeping the dtype."""
    x -= np.asarray(mean, dtype=x.dtype)
    x /= np.asarray(std, dtype=x.dtype)
    return x
