"""Checkpoints: one zip file of .npy arrays plus plain JSON metadata, written atomically, never pickled.

Layout (readable with `np.load(path, allow_pickle=False)`):
  meta.json          format name and version, everything as plain JSON, and a
                     SHA-256 for each array
  <name>.npy         one member per array, e.g. `params/dense_1.W.npy`

A write goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the old file, so a crash at any moment leaves either the old
or the new checkpoint, never a torn one. Arrays are streamed into the file (one
pass to hash them, one to write them), never copied whole.

Loading verifies the format, version and every checksum, and refuses object
arrays, so it never executes code. Shared checkpoints are untrusted input, so it
also never believes a size it has not checked: meta.json is refused above
MAX_META_BYTES, and each array's size in the zip must be what meta.json's shape
and dtype imply (plus a .npy header) before a byte of it is read; the array is
then read straight into its own buffer in CHUNK-sized pieces while being hashed.
A crafted file (say 2 GiB of deflated zeros behind a valid header) is refused
at once, and memory never exceeds the arrays meta.json declares plus a chunk.
"""

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nntrain.errors import CheckpointError
from nntrain.files import write_atomic

FORMAT = "nntrain-checkpoint"
VERSION = 1
MAX_META_BYTES = 64 * 2**20
MAX_HEADER_BYTES = 12 + 10_000  # magic, version and length, and numpy's own limit on the header text
CHUNK = 2**20
MAX_DEFLATE_RATIO = 1032  # deflate expands at most ~1032:1; an entry declaring more lies about its size


def save_checkpoint(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write `meta` and `arrays` to `path`."""
    path = Path(path)
    arrays = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    sizes, digests = {}, {}
    for name, array in arrays.items():
        sink = _HashingSink()
        np.lib.format.write_array(sink, array, allow_pickle=False)
        sizes[name] = sink.size
        digests[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "sha256": sink.hash.hexdigest()}
    document = {"format": FORMAT, "version": VERSION, **meta, "arrays": digests}

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_entry("meta.json"), json.dumps(document, allow_nan=True))
            for name, array in arrays.items():
                entry = _entry(f"{name}.npy")
                entry.file_size = sizes[name]  # known in advance: the same bytes as writestr would write
                with archive.open(entry, "w") as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    try:
        write_atomic(path, write)
    except OSError as exc:
        raise CheckpointError(f"could not write checkpoint to {path}: {exc.strerror or exc}") from None


class _HashingSink:
    """A write-only file that keeps only the SHA-256 and the length of what is written to it."""

    def __init__(self):
        self.hash, self.size = hashlib.sha256(), 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed timestamp, so equal contents give equal files."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def load_checkpoint(path: Path, check_meta: Callable[[dict], None] | None = None
                    ) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify a checkpoint; every problem is a CheckpointError naming the file and the damage.

    `check_meta(meta)` runs before any array is read, e.g. to refuse arrays the model does not have.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _read_meta(archive, path)
            if check_meta:
                check_meta(meta)
            arrays = {name: _read_array(archive, path, name, info) for name, info in meta["arrays"].items()}
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"{path} is damaged or not an nntrain checkpoint ({exc})") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    return meta, arrays


def read_checkpoint_meta(path: Path) -> dict:
    """Only the JSON part of a checkpoint (epoch, metrics, config), without loading its arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_meta(archive, Path(path))
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None


def _read_meta(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        entry = archive.getinfo("meta.json")
    except KeyError:
        raise CheckpointError(f"{path} is not an nntrain checkpoint (no meta.json)") from None
    if entry.file_size > MAX_META_BYTES:
        raise CheckpointError(f"{path}: meta.json declares {entry.file_size:,} bytes, more than the "
                              f"{MAX_META_BYTES // 2**20} MiB any checkpoint needs; refusing to read it")
    _check_compression(entry, path, "meta.json")
    try:
        with archive.open(entry) as stream:
            meta = json.loads(stream.read(MAX_META_BYTES + 1))
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is damaged: meta.json is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an nntrain checkpoint")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path} was written by a newer nntrain (checkpoint format {version}; this version "
                              f"reads up to {VERSION}); upgrade nntrain to load it")
    if not isinstance(meta.get("arrays"), dict):
        raise CheckpointError(f"{path} is damaged: meta.json lists no arrays")
    return meta


def _check_compression(entry: zipfile.ZipInfo, path: Path, member: str) -> None:
    """Refuse an entry whose declared size no compression could produce from its compressed bytes."""
    limit = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: MAX_DEFLATE_RATIO}.get(entry.compress_type)
    if limit and entry.file_size > limit * entry.compress_size + 64:
        raise CheckpointError(f"{path} is damaged: {member} declares {entry.file_size:,} bytes from "
                              f"{entry.compress_size:,} stored; refusing to read it")


def declared_array(info, path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype meta.json gives for array `name`."""
    shape, dtype = (info.get("shape"), info.get("dtype")) if isinstance(info, dict) else (None, None)
    try:
        if not isinstance(shape, list) or not isinstance(dtype, str) or \
                not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise TypeError
        dtype = np.dtype(dtype)
    except TypeError:
        raise CheckpointError(f"{path} is damaged: meta.json gives no valid shape and dtype for array "
                              f"{name!r}") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise CheckpointError(f"{path}: array {name!r} cannot be loaded safely (dtype {dtype}); refusing it")
    return tuple(shape), dtype


def _read_array(archive: zipfile.ZipFile, path: Path, name: str, info: dict) -> np.ndarray:
    member = f"{name}.npy"
    try:
        entry = archive.getinfo(member)
    except KeyError:
        raise CheckpointError(f"{path} is damaged: the array {name!r} is missing") from None
    shape, dtype = declared_array(info, path, name)
    nbytes = math.prod(shape) * dtype.itemsize
    header_bytes = entry.file_size - nbytes
    if not 10 <= header_bytes <= MAX_HEADER_BYTES:
        raise CheckpointError(f"{path} is damaged: the array {name!r} holds {entry.file_size:,} bytes in the zip, "
                              f"but meta.json's shape {shape} and dtype {dtype} make it {nbytes:,} bytes and a "
                              f"header; refusing to read it")
    _check_compression(entry, path, f"the array {name!r}")
    digest = hashlib.sha256()
    with archive.open(entry) as stream:
        header = _read_into(stream, bytearray(header_bytes), digest, path, name)
        data = _read_into(stream, np.empty(nbytes, dtype=np.uint8), digest, path, name)
    if digest.hexdigest() != info.get("sha256"):
        raise CheckpointError(f"{path} is damaged: checksum mismatch in array {name!r}")
    fortran = _check_header(bytes(header), shape, dtype, path, name)
    return np.ndarray(shape, dtype=dtype, buffer=data, order="F" if fortran else "C")


def _read_into(stream, buffer, digest, path: Path, name: str):
    """Fill `buffer` from `stream` in CHUNK-sized reads, hashing as it goes."""
    view, filled = memoryview(buffer).cast("B"), 0
    while filled < len(view):
        count = stream.readinto(view[filled:filled + CHUNK])
        if not count:
            raise CheckpointError(f"{path} is damaged: the array {name!r} is truncated")
        digest.update(view[filled:filled + count])
        filled += count
    return buffer


def _check_header(header: bytes, shape, dtype, path: Path, name: str) -> bool:
    """Parse a .npy header (without unpickling anything); it must describe what meta.json says. Returns fortran_order."""
    stream = io.BytesIO(header)
    try:
        version = np.lib.format.read_magic(stream)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f".npy format {version[0]}.{version[1]} is not supported")
        header_shape, fortran, header_dtype = readers[version](stream)
        if header_dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    except ValueError as exc:
        raise CheckpointError(f"{path}: array {name!r} cannot be loaded safely ({exc}); refusing it") from None
    if (header_shape, header_dtype) != (shape, dtype) or stream.tell() != len(header):
        raise CheckpointError(f"{path} is damaged: array {name!r} is {header_shape} {header_dtype} in its .npy "
                              f"header but {shape} {dtype} in meta.json")
    return fortran
