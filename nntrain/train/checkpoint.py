"""Checkpoints: one zip file of .npy arrays plus plain JSON metadata, written atomically, never pickled.

Layout (readable with `np.load(path, allow_pickle=False)`):
  meta.json          format name and version, everything as plain JSON, and a
                     SHA-256 for each array
  <name>.npy         one member per array, e.g. `params/dense_1.W.npy`

A write goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the old file, so a crash at any moment leaves either the old
or the new checkpoint, never a torn one. Loading verifies the format, version
and every checksum, and refuses object arrays, so it never executes code.
"""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from nntrain.errors import CheckpointError
from nntrain.train.files import write_atomic

FORMAT = "nntrain-checkpoint"
VERSION = 1


def save_checkpoint(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write `meta` and `arrays` to `path`."""
    path = Path(path)
    members, digests = {}, {}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
        members[f"{name}.npy"] = buffer.getvalue()
        digests[name] = {"shape": list(array.shape), "dtype": str(array.dtype),
                         "sha256": hashlib.sha256(members[f"{name}.npy"]).hexdigest()}
    document = {"format": FORMAT, "version": VERSION, **meta, "arrays": digests}

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_entry("meta.json"), json.dumps(document, allow_nan=True))
            for member, data in members.items():
                archive.writestr(_entry(member), data)

    try:
        write_atomic(path, write)
    except OSError as exc:
        raise CheckpointError(f"could not write checkpoint to {path}: {exc.strerror or exc}") from None


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed timestamp, so equal contents give equal files."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def load_checkpoint(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify a checkpoint; every problem is a CheckpointError naming the file and the damage."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _read_meta(archive, path)
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
        meta = json.loads(archive.read("meta.json"))
    except KeyError:
        raise CheckpointError(f"{path} is not an nntrain checkpoint (no meta.json)") from None
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


def _read_array(archive: zipfile.ZipFile, path: Path, name: str, info: dict) -> np.ndarray:
    try:
        data = archive.read(f"{name}.npy")
    except KeyError:
        raise CheckpointError(f"{path} is damaged: the array {name!r} is missing") from None
    if hashlib.sha256(data).hexdigest() != info.get("sha256"):
        raise CheckpointError(f"{path} is damaged: checksum mismatch in array {name!r}")
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise CheckpointError(f"{path}: array {name!r} cannot be loaded safely ({exc}); refusing it") from None
