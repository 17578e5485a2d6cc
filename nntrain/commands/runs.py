"""Run directories and saved models: where a run lives, which checkpoint a path means, how to score it."""

import itertools
import json
import os
import re
from datetime import datetime
from pathlib import Path

import numpy as np

from nntrain.data.targets import decode_regression
from nntrain.errors import CheckpointError, ConfigError
from nntrain.nn.losses import Loss
from nntrain.nn.model import Model
from nntrain.train.metrics import compute_metrics

RUN_FILES = ("config.yaml", "metrics.jsonl", "metrics.csv", "best.npz", "last.npz", "test.csv", "summary.json",
             "curves.png")


RUNS_ROOT = Path("runs")


def new_run_dir(config_path: str) -> Path:
    """Create runs/<config name>-<date>-<time> for a config without output.dir.

    Created atomically, with a -2, -3... suffix when runs of one config start in the same
    second, so parallel runs never share a directory.
    """
    base = f"{Path(config_path).stem}-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        RUNS_ROOT.mkdir(parents=True, exist_ok=True)
        for attempt in itertools.count(1):
            candidate = RUNS_ROOT / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as exc:
        raise ConfigError(f"cannot create a run directory in {RUNS_ROOT}/: {exc.strerror or exc}; "
                          "set output.dir") from None


def newest_run_dir(config_path: str) -> Path:
    """The latest runs/<config name>-<date>-<time>[-N] directory, for `--resume auto` without output.dir."""
    stem = Path(config_path).stem
    pattern = re.compile(rf"{re.escape(stem)}-(\d{{8}}-\d{{6}})(?:-(\d+))?")
    found = [(match[1], int(match[2] or 1), path) for path in (RUNS_ROOT.iterdir() if RUNS_ROOT.is_dir() else ())
             if path.is_dir() and (match := pattern.fullmatch(path.name))]
    if not found:
        raise ConfigError(f"--resume auto: no earlier run of {config_path} in {RUNS_ROOT}/ "
                          f"(looked for {stem}-<date>-<time>); pass the run directory instead")
    return max(found)[2]


def existing_run_files(run_dir: Path) -> list[str]:
    return [name for name in RUN_FILES if (run_dir / name).exists()]


def refuse_existing_run(run_dir: Path) -> None:
    """A fresh run must not mix its files with an earlier run's."""
    found = existing_run_files(run_dir)
    if found:
        raise ConfigError(f"{run_dir} already holds a run ({', '.join(found)}); pass --resume auto to continue it, "
                          "--overwrite to replace it, or set output.dir (e.g. --set output.dir=runs/other)")


def check_writable(run_dir: Path) -> None:
    """Refuse a run directory that could not be created or written, without creating anything."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"output.dir: {run_dir} is a file, not a directory; choose another output.dir")
    existing = next(path for path in [run_dir, *run_dir.parents] if path.exists())
    if not existing.is_dir():
        raise ConfigError(f"output.dir: cannot create {run_dir}: {existing} is a file; choose another output.dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"output.dir: cannot write to {existing}; choose another output.dir")


def ensure_writable(run_dir: Path) -> None:
    """Create the run directory, or say why it cannot be used, before any work starts."""
    check_writable(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output.dir: cannot write to {run_dir}: {exc.strerror or exc}") from None


def resolve_checkpoint(path: str) -> Path:
    """A checkpoint file, or a run directory's final model (per summary.json, else best, else last)."""
    location = Path(path)
    if location.is_file():
        return location
    if not location.is_dir():
        raise CheckpointError(f"no run or checkpoint at {path}")
    summary = location / "summary.json"
    if summary.exists():
        try:
            final = json.loads(summary.read_text(encoding="utf-8")).get("final_checkpoint")
        except ValueError:
            final = None
        if final and (location / final).is_file():
            return location / final
    for name in ("best.npz", "last.npz"):
        if (location / name).is_file():
            return location / name
    raise CheckpointError(f"{path} holds no checkpoint (best.npz or last.npz); train with `nntrain fit` first")


def evaluate_split(model: Model, loss: Loss, x: np.ndarray, y: np.ndarray,
                   target: dict) -> tuple[float, dict, np.ndarray | None]:
    """Loss, metrics and confusion matrix of the model on prepared rows."""
    outputs = model.predict(x)
    metrics, confusion = compute_metrics(outputs, y, target["task"], len(target.get("classes", ())),
                                         lambda values: decode_regression(values, target))
    return loss.value(outputs, y), metrics, confusion
