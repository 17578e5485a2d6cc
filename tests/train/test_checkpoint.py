"""Checkpoint files: exact round trips, damage detection, refusal of unsafe content, atomic writes."""

import errno
import hashlib
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from nntrain.errors import CheckpointError
from nntrain.train.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture
def cli(cli_in_process):
    """In the test process: the fit whose checkpoint is turned into a bomb (see `cli_in_process`)."""
    return cli_in_process


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

    monkeypatch.setattr("nntrain.files.os.fsync", disk_full)
    with pytest.raises(CheckpointError, match=f"could not write checkpoint to {path}: No space left on device"):
        save_checkpoint(path, {"epoch": 2}, ARRAYS)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]


def test_streamed_writes_give_the_bytes_of_the_whole_array_writer(tmp_path):
    """Arrays are streamed into the zip, but the file is byte for byte what writing them whole gave."""
    arrays = {**ARRAYS, "optimizer/m/dense_1.W": np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3),
              "buffers/batchnorm_1.running_var": np.ones(0)}
    save_checkpoint(tmp_path / "streamed.npz", {"epoch": 2}, arrays)
    members, digests = {}, {}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        members[f"{name}.npy"] = buffer.getvalue()
        digests[name] = {"shape": list(array.shape), "dtype": str(array.dtype),
                         "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    document = {"format": "nntrain-checkpoint", "version": 1, "epoch": 2, "arrays": digests}
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as archive:
        for name, data in {"meta.json": json.dumps(document).encode(), **members}.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    assert (tmp_path / "streamed.npz").read_bytes() == whole.getvalue()


def test_saving_and_loading_hold_one_array_and_a_chunk(tmp_path):
    """A 64 MB array: saving never copies it whole, loading holds it once (plus a 1 MiB chunk)."""
    big = {"params/dense_1.W": np.arange(8 * 2**20, dtype=np.float64)}
    tracemalloc.start()
    try:
        save_checkpoint(tmp_path / "big.npz", {}, big)
        saved_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        _, arrays = load_checkpoint(tmp_path / "big.npz")
        loaded_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(arrays["params/dense_1.W"], big["params/dense_1.W"])
    assert saved_peak < 40 * 2**20  # numpy writes through 16 MiB buffers
    assert loaded_peak < 64 * 2**20 + 4 * 2**20


def _zip(entries) -> bytes:
    """A zip file built by hand from (name, raw bytes, method, crc, uncompressed size): sizes can lie."""
    local, central, offset = [], [], 0
    for name, raw, method, crc, size in entries:
        encoded = name.encode()
        fields = (20, 0, method, 0, 0x21, crc, len(raw), size, len(encoded), 0)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + encoded)
        local.append(header + raw)
        offset += len(header) + len(raw)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(local) + directory + end


def _stored(name, data):
    return name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_declared_sizes_that_cannot_be_right_are_refused_before_reading(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    members = _members(path)
    meta = json.loads(members.pop("meta.json"))
    payload = members["params/dense_1.W.npy"]
    # the zip says the 24-byte array holds 1 GB (deflate cannot expand 200 bytes that far either)
    lying = [(name, data, zipfile.ZIP_STORED, zlib.crc32(data), 2**30 if name == "params/dense_1.W.npy" else len(data))
             for name, data in members.items()]
    (tmp_path / "lying.npz").write_bytes(_zip([_stored("meta.json", json.dumps(meta).encode()), *lying]))
    with pytest.raises(CheckpointError, match=r"the array 'params/dense_1.W' holds 1,073,741,824 bytes in the zip, "
                                              r"but meta.json's shape \(2, 3\) and dtype float32 make it 24 bytes"):
        load_checkpoint(tmp_path / "lying.npz")
    # meta.json agrees with the lie, but a deflated entry of 200 bytes cannot hold 1 GB
    meta["arrays"]["params/dense_1.W"]["shape"] = [2**28 - 32]
    deflated = [("params/dense_1.W.npy", zlib.compress(payload)[2:-4], zipfile.ZIP_DEFLATED, zlib.crc32(payload),
                 2**30 - 128 + len(payload) - 24)]
    (tmp_path / "ratio.npz").write_bytes(_zip([_stored("meta.json", json.dumps(meta).encode()), *deflated]))
    with pytest.raises(CheckpointError, match=r"the array 'params/dense_1.W' declares 1,073,741,\d+ bytes from \d+ stored"):
        load_checkpoint(tmp_path / "ratio.npz")
    # meta.json itself above 64 MiB is never read
    (tmp_path / "meta.npz").write_bytes(_zip([("meta.json", b"{}", zipfile.ZIP_STORED, zlib.crc32(b"{}"), 2**26 + 1)]))
    with pytest.raises(CheckpointError, match=r"meta.json declares 67,108,865 bytes, more than the 64 MiB"):
        load_checkpoint(tmp_path / "meta.npz")


def test_header_must_describe_what_meta_says(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, ARRAYS)
    members = _members(path)
    meta = json.loads(members.pop("meta.json"))
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((3, 2), dtype=np.float32))  # same bytes, other shape
    members["params/dense_1.W.npy"] = buffer.getvalue()
    meta["arrays"]["params/dense_1.W"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    entries = [_stored("meta.json", json.dumps(meta).encode())] + [_stored(n, d) for n, d in members.items()]
    (tmp_path / "other.npz").write_bytes(_zip(entries))
    with pytest.raises(CheckpointError, match=r"array 'params/dense_1.W' is \(3, 2\) float32 in its .npy header but "
                                              r"\(2, 3\) float32 in meta.json"):
        load_checkpoint(tmp_path / "other.npz")


GIB = 2**30


@pytest.fixture(scope="module")
def zip_bomb_member():
    """A .npy member of 2 GiB of zeros behind a valid header, deflated to ~2 MB (one repeated 16 MiB segment)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (GIB // 2,)})
    header = header.getvalue()
    chunk = bytes(2**24)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    crc = zlib.crc32(header)
    for _ in range(2 * GIB // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    raw = start + segment * (2 * GIB // len(chunk)) + end
    return raw, crc, len(header) + 2 * GIB


@pytest.mark.parametrize("meta_claims_it", [False, True])
def test_zip_bomb_checkpoint_is_refused_at_once_in_bounded_memory(cli, blobs_config, blobs_csv, tmp_path,
                                                                  zip_bomb_member, meta_claims_it):
    """`nntrain predict` on a 2 MB checkpoint whose weights entry inflates to 2 GiB, under a 1 GiB address-space
    limit: exit 5 naming the file and the array, whether or not meta.json's shape agrees with the bomb."""
    assert cli("fit", blobs_config(epochs=2)).returncode == 0
    members = _members(tmp_path / "run" / "best.npz")
    meta = json.loads(members.pop("meta.json"))
    if meta_claims_it:
        meta["arrays"]["params/dense_1.W"]["shape"] = [GIB // 2]
    raw, crc, size = zip_bomb_member
    entries = [_stored("meta.json", json.dumps(meta).encode())]
    entries += [("params/dense_1.W.npy", raw, zipfile.ZIP_DEFLATED, crc, size) if name == "params/dense_1.W.npy"
                else _stored(name, data) for name, data in members.items()]
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(_zip(entries))
    assert bomb.stat().st_size < 3 * 2**20

    def one_gib_of_address_space():
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    entry_point = Path(sys.executable).parent / "nntrain"
    result = subprocess.run([str(entry_point), "predict", str(bomb), str(blobs_csv)], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"}, preexec_fn=one_gib_of_address_space, timeout=300)
    assert result.returncode == 5, result.stderr
    assert str(bomb) in result.stderr and "params/dense_1.W" in result.stderr and "Traceback" not in result.stderr
    expected = ("params/dense_1.W has shape (536870912,), expected (2, 8)" if meta_claims_it else
                f"the array 'params/dense_1.W' holds {size:,} bytes in the zip, but meta.json's shape (2, 8)")
    assert expected in result.stderr
    assert result.stdout == ""
