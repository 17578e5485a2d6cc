"""A prepared directory: the float32 arrays of each split, written once by `nntrain prepare` (or by `fit` for a table
bigger than `data.memory_limit`) and read by any number of runs from the page cache (`stored_rows`).

    manifest.json   format, version, rows per split, the source's fingerprint, and each file's bytes and SHA-256
    state.json      the fitted preparation (the `data` a checkpoint saves), so runs predict new rows alike
    report.json     what `nntrain data` reports, and the notes
    {train,validation,test}-x.npy   features, float32 (engine.dtype), one row per prepared row
    {train,validation,test}-y.npy   targets: class codes (int64) or values
    test.csv        the raw rows of the test split, copied into each run for `nntrain eval RUN`

The directory appears whole or not at all: it is written under a temporary name and renamed.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from nntrain.data.prepared import TrainingData
from nntrain.data.stored_rows import StoredRows
from nntrain.data.split import SPLIT_NAMES
from nntrain.errors import CheckpointError, ConfigError
from nntrain.files import file_sha256

FORMAT, VERSION = "nntrain-prepared", 1
MANIFEST = "manifest.json"


def is_prepared(path: str | Path) -> bool:
    return str(path) != "-" and (Path(path) / MANIFEST).is_file()


def write_prepared(out: Path, prepare: Callable[[Path], object], fingerprint: dict) -> Path:
    """Fill a temporary folder beside `out` with `prepare(folder)` (a `streaming.Prepared`), add the state, report
    and manifest, and rename it to `out`, replacing an earlier prepared directory there."""
    out = Path(out)
    if out.exists() and not is_prepared(out) and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"-o: {out} exists and is not a prepared directory; choose another, or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        prepared = prepare(temporary)
        _write_json(temporary / "state.json", prepared.state)
        _write_json(temporary / "report.json", {**prepared.report, "notes": prepared.notes})
        files = {path.name: {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
                 for path in sorted(temporary.iterdir())}
        _write_json(temporary / MANIFEST, {"format": FORMAT, "version": VERSION, "rows": prepared.rows,
                                           "fingerprint": fingerprint, "files": files})
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        temporary.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{Path(folder) / MANIFEST}: cannot read the manifest ({exc}); prepare again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise CheckpointError(f"{Path(folder) / MANIFEST}: not a version {VERSION} prepared directory; prepare again")
    return manifest


def verify(folder: Path) -> dict:
    """The manifest, once every file it lists has its recorded size and SHA-256 (else exit 5 naming the file)."""
    manifest = read_manifest(folder)
    for name, recorded in manifest["files"].items():
        path = Path(folder) / name
        if not path.is_file():
            raise CheckpointError(f"{path}: missing from the prepared directory; prepare it again")
        size = path.stat().st_size
        if size != recorded["bytes"]:
            raise CheckpointError(f"{path}: damaged ({size} bytes, the manifest says {recorded['bytes']}); "
                                  "prepare it again")
        if file_sha256(path) != recorded["sha256"]:
            raise CheckpointError(f"{path}: damaged (its SHA-256 differs from the manifest's); prepare it again")
    return manifest


def open_prepared(folder: str | Path) -> TrainingData:
    """The training data of a verified prepared directory, its arrays read from disk as they are used
    (`stored_rows.StoredRows`: the page cache holds them once for every run)."""
    folder = Path(folder)
    manifest = verify(folder)
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    notes = report.pop("notes", [])
    x = {name: StoredRows(folder / f"{name}-x.npy") for name in SPLIT_NAMES}
    y = {name: StoredRows(folder / f"{name}-y.npy") for name in SPLIT_NAMES}
    arrays = "".join(f"{name}:{entry['sha256']};" for name, entry in sorted(manifest["files"].items())
                     if name.endswith(".npy"))
    return TrainingData(x=x, y=y, test_rows=None, state=state, notes=notes, report=report,
                        test_file=folder / "test.csv", fingerprint=hashlib.sha256(arrays.encode()).hexdigest())



def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
