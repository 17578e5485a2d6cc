"""Checkpoint files: exact round trips, damage detection, refusal of unsafe content, atomic writes."""

import errno
import io
import json
import zipfile

import numpy as np
import pytest

from nntrain.errors import CheckpointError
from nntrain.train.checkpoint import load_checkpoint, save_checkpoint

ARRAYS = {"params/dense_1.W": np.arange(6, dtype=np.float32).reshape(2, 3), "params/dense_1.b": np.ones(3)}


def test_round_trip_is_exact_and_plain(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"epoch": 3, "note": "x"}, ARRAYS)
    meta, arrays = load_checkpoint(path)
    assert meta["epoch"] == 3 and meta["format"] == "nntrain-checkpoint" and meta["version"] == 1
    for name, value in ARRAYS.items():
        assert arrays[name].dtype == value.dtype and np.array_equal(arrays[name], value)
    with np.load(path, allow_pickle=False) as plain:  # readable without nntrain, and without pickle
        assert np.array_equal(plain["params/dense_1.W"], ARRAYS["params/dense_1.W"])


def test_same_contents_give_identical_files(tmp_path):
    save_checkpoint(tmp_path / "a.npz", {"epoch": 1}, ARRAYS)
    save_checkpoint(tmp_path / "b.npz", {"epoch": 1}, ARRAYS)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_flipped_byte_is_detected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    data = bytearray(path.read_bytes())
    offset = data.index(b"\x93NUMPY") + 140  # inside the first array's payload
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)


def test_truncated_file_is_detected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="damaged or not an nntrain checkpoint"):
        load_checkpoint(path)


def _rewrite(path, change_meta=None, extra=None):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["meta.json"])
    if change_meta:
        change_meta(meta)
    members["meta.json"] = json.dumps(meta).encode()
    members.update(extra or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_pickled_object_array_is_refused_without_running_it(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    canary = tmp_path / "canary"
    buffer = io.BytesIO()
    evil = np.array([_Canary(str(canary))], dtype=object)
    np.lib.format.write_array(buffer, evil, allow_pickle=True)
    payload = buffer.getvalue()
    import hashlib

    def point_at_evil(meta):
        meta["arrays"]["params/dense_1.b"]["sha256"] = hashlib.sha256(payload).hexdigest()

    _rewrite(path, point_at_evil, {"params/dense_1.b.npy": payload})
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_checkpoint(path)
    assert not canary.exists()


class _Canary:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_newer_format_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    _rewrite(path, lambda meta: meta.update(version=99))
    with pytest.raises(CheckpointError, match="newer nntrain"):
        load_checkpoint(path)
    foreign = tmp_path / "f.npz"
    np.savez(foreign, a=np.ones(2))
    with pytest.raises(CheckpointError, match="no meta.json"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.npz")


def test_missing_array_member_is_named(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != "params/dense_1.b.npy"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(CheckpointError, match="'params/dense_1.b' is missing"):
        load_checkpoint(path)


def test_failed_write_keeps_the_previous_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"epoch": 1}, ARRAYS)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("nntrain.train.files.os.fsync", disk_full)
    with pytest.raises(CheckpointError, match=f"could not write checkpoint to {path}: No space left on device"):
        save_checkpoint(path, {"epoch": 2}, ARRAYS)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]
