"""The image cache: an image folder decoded once into uint8 pixels on disk, reused by every later fit.

A cache is a folder `images-<slot>-<content>/` inside the cache root, holding `pixels.npy`
(N × H × W × C uint8) and `manifest.json` (plain JSON: the folder, the image settings, every
file's relative path, size and modification time, its class, the problem of each unreadable
file, and the SHA-256 of `pixels.npy`). The pixels are read as `StoredRows` (the rows a batch
takes, with `pread`, not a memory map: the page cache holding the file is then not counted as
the memory of every fit reading it). `slot` hashes the folder and the settings that change
pixels (colour, size, resize filter); `content` hashes the file list, so a changed, added or
removed file makes another cache. Only files that changed are decoded again:
the rows of unchanged files are copied from the slot's previous cache, which is then removed.

A cache is written in a temporary folder and renamed into place, so a reader sees a whole cache
or none; when two fits build the same cache at once, the first rename wins and the other fit
reads the winner's. A damaged cache (a bad manifest, a wrong size, a SHA-256 that does not
match) is never used: it is noted and decoded again.
"""

import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntrain.data.images import CHUNK_BYTES, ImageSpec, decode_into, read_pixels
from nntrain.data.stored_rows import StoredRows
from nntrain.files import file_sha256, fsync_path
from nntrain.words import counted

FORMAT, VERSION = "nntrain-image-cache", 1
PIXELS, MANIFEST = "pixels.npy", "manifest.json"


class DamagedCache(Exception):
    """A cache folder that cannot be trusted; the message says why."""


@dataclass
class Decoded:
    pixels: np.ndarray | StoredRows  # (files, H, W, C) uint8, the cache's or in memory; unreadable files' are zeros
    problems: list[str | None]   # per file: why it is unreadable, or None
    note: str                    # where the pixels came from, for the user


def decoded_pixels(paths: list[Path], root: Path, spec: ImageSpec, size: tuple[int, int], cache_root: Path | None,
                   progress: Callable | None = None) -> Decoded:
    """The pixels of `paths` (files below `root`) from the cache in `cache_root`, decoding what it lacks.

    `progress(description, total)` is a context manager yielding `advance(n)` (see
    `train.progress.Reporter.task`). Without a cache root, or when it cannot be written, the
    images are decoded into memory instead, with a note saying so.
    """
    files = [_entry(path, root) for path in paths]
    slot = _digest({"root": str(root.resolve()), "color": spec.color, "size": list(size), "resize": spec.resize})
    name = f"images-{slot}-{_digest(files)}"
    shape = (len(paths), *size, spec.channels)
    damaged = ""
    if cache_root is not None:
        try:
            pixels, problems = _open(cache_root / name, files, shape)
            return Decoded(pixels, problems, f"read {counted(len(paths), 'image')} from the image cache "
                                             f"{cache_root / name} (decoded before)")
        except FileNotFoundError:
            pass
        except DamagedCache as exc:
            damaged = f"the image cache {exc}; decoding again. "
        try:
            return _build(cache_root, name, slot, root, paths, files, spec, size, progress, damaged)
        except OSError as exc:
            damaged += f"cannot write the image cache in {cache_root} ({exc.strerror or exc}); "
    pixels = np.empty(shape, dtype=np.uint8)
    problems = _decode(pixels, paths, range(len(paths)), spec, size, progress)
    return Decoded(pixels, problems, f"{damaged}decoded {counted(len(paths), 'image')} into memory")


def _entry(path: Path, root: Path) -> list:
    """[relative path, size, mtime in ns] of a file: what says it is unchanged."""
    try:
        stat = path.stat()
        return [path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns]
    except FileNotFoundError:  # gone since it was listed: decoding reports it
        return [path.relative_to(root).as_posix(), -1, -1]


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()[:16]


def _open(folder: Path, files: list, shape: tuple) -> tuple[StoredRows, list[str | None]]:
    """A cache's pixels (read by rows, keeping no block: a full shuffle shares none) and problems;
    FileNotFoundError if there is none, DamagedCache if it is not exactly the cache of these files."""
    manifest = _manifest(folder)
    pixels_path = folder / PIXELS
    if manifest.get("files") != files:
        raise DamagedCache(f"{folder / MANIFEST} lists other files than the folder holds")
    try:
        digest = file_sha256(pixels_path, block=2**20)
    except FileNotFoundError:
        raise DamagedCache(f"{pixels_path} is missing") from None
    if digest != manifest.get("pixels", {}).get("sha256"):
        raise DamagedCache(f"{pixels_path} does not match the SHA-256 in its manifest")
    try:
        pixels = StoredRows(pixels_path, keep_rows=0)
    except (ValueError, OSError) as exc:
        raise DamagedCache(f"{pixels_path} is not a readable .npy file ({exc})") from None
    if pixels.shape != shape or pixels.dtype != np.uint8:
        raise DamagedCache(f"{pixels_path} holds {pixels.dtype} {pixels.shape}, not uint8 {shape}")
    problems = manifest.get("problems")
    if not isinstance(problems, list) or len(problems) != len(files):
        raise DamagedCache(f"{folder / MANIFEST} has no problem entry per file")
    return pixels, problems


def _manifest(folder: Path) -> dict:
    """The manifest of a cache folder; FileNotFoundError if there is no such folder."""
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DamagedCache(f"{folder / MANIFEST} is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise DamagedCache(f"{folder / MANIFEST} is not a version {VERSION} {FORMAT} manifest")
    return manifest



def _build(cache_root: Path, name: str, slot: str, root: Path, paths: list[Path], files: list, spec: ImageSpec,
           size: tuple[int, int], progress, damaged: str) -> Decoded:
    cache_root.mkdir(parents=True, exist_ok=True)
    shape = (len(paths), *size, spec.channels)
    temporary = cache_root / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    temporary.mkdir()
    try:
        pixels = np.lib.format.open_memmap(temporary / PIXELS, mode="w+", dtype=np.uint8, shape=shape)
        _reserve(temporary / PIXELS)
        problems, reused = _reuse_previous(cache_root, slot, name, files, pixels)
        todo = [index for index, done in enumerate(reused) if not done]
        for index, reason in zip(todo, _decode(pixels, paths, todo, spec, size, progress)):
            problems[index] = reason
        pixels.flush()
        del pixels
        fsync_path(temporary / PIXELS)
        manifest = {"format": FORMAT, "version": VERSION, "root": str(root.resolve()),
                    "image": {"color": spec.color, "size": list(size), "resize": spec.resize},
                    "files": files, "labels": [entry[0].split("/", 1)[0] for entry in files], "problems": problems,
                    "pixels": {"shape": list(shape), "dtype": "uint8", "sha256": file_sha256(temporary / PIXELS)}}
        (temporary / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        fsync_path(temporary / MANIFEST)
        final = cache_root / name
        if damaged:
            _remove(final)
        _publish(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    _remove_stale(cache_root, slot, name)
    pixels, problems = _open(final, files, shape)
    decoded = len(todo)
    return Decoded(pixels, problems, f"{damaged}decoded {counted(decoded, 'image')}"
                                     + (f" ({counted(len(paths) - decoded, 'unchanged image')} kept)"
                                        if decoded < len(paths) else "")
                                     + f" into the image cache {final}")


def _decode(pixels: np.ndarray, paths: list[Path], indices, spec: ImageSpec, size, progress) -> list[str | None]:
    """Decode `paths[i]` into `pixels[i]` for each index; the problems, in the same order."""
    indices = list(indices)
    todo = [paths[index] for index in indices]
    context = progress(f"decoding {counted(len(todo), 'image')}", len(todo)) if progress and todo else nullcontext()
    with context as advance:
        view = _RowsOf(pixels, indices)
        return decode_into(view, todo, lambda path: read_pixels(path, spec, size), advance)


class _RowsOf:
    """Writes to row i go to row indices[i] of `pixels` (so decoding fills only the rows it is given)."""

    def __init__(self, pixels: np.ndarray, indices: list[int]):
        self.pixels, self.indices = pixels, indices

    def __setitem__(self, i: int, value: np.ndarray) -> None:
        self.pixels[self.indices[i]] = value


def _reuse_previous(cache_root: Path, slot: str, name: str, files: list,
                    pixels: np.ndarray) -> tuple[list[str | None], list[bool]]:
    """Copy into `pixels` the rows of unchanged files from an intact earlier cache of the same slot."""
    problems: list[str | None] = [None] * len(files)
    reused = [False] * len(files)
    for folder in sorted(cache_root.glob(f"images-{slot}-*")):
        if folder.name == name:
            continue
        try:
            manifest = _manifest(folder)
            old, old_problems = _open(folder, manifest.get("files"), (len(manifest.get("files") or []),
                                                                      *pixels.shape[1:]))
        except (DamagedCache, FileNotFoundError, TypeError):
            continue
        where = {tuple(entry): index for index, entry in enumerate(manifest["files"])}
        pairs = [(index, where[tuple(entry)]) for index, entry in enumerate(files) if tuple(entry) in where]
        if not pairs:
            continue
        new_rows, old_rows = (np.array(side, dtype=np.intp) for side in zip(*pairs))
        step = max(1, CHUNK_BYTES // max(pixels[0].nbytes, 1))
        for start in range(0, len(pairs), step):  # a loop over chunks of rows, not over rows
            pixels[new_rows[start:start + step]] = old[old_rows[start:start + step]]
        for index, old_index in pairs:
            problems[index], reused[index] = old_problems[old_index], True
        return problems, reused
    return problems, reused


def _publish(temporary: Path, final: Path) -> None:
    """Rename the finished cache into place; if another fit got there first, keep its (identical) cache."""
    try:
        os.rename(temporary, final)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    fsync_path(final.parent)


def _remove(folder: Path) -> None:
    """Take a cache out of view at once (a rename), then delete it; readers holding it open keep reading it."""
    hidden = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.removed")
    try:
        os.rename(folder, hidden)
    except FileNotFoundError:
        return
    shutil.rmtree(hidden, ignore_errors=True)


def _remove_stale(cache_root: Path, slot: str, keep: str) -> None:
    """Remove the slot's earlier caches, and temporary folders left by killed fits of it."""
    for folder in cache_root.glob(f"images-{slot}-*"):
        if folder.name != keep:
            _remove(folder)
    for folder in cache_root.glob(f".images-{slot}-*.tmp"):
        pid = folder.name.split(".")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reserve(path: Path) -> None:
    """Allocate the file's blocks now: OSError (no space left) here, not SIGBUS when a mapped page is written."""
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # file systems that cannot: written as it goes
                raise

