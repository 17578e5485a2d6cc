"""Run directories and saved models: where a run lives, which checkpoint a path means, how to score it."""

import json
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


def default_run_dir(config_path: str, resume: bool = False) -> Path:
    """runs/<config name>-<local time>, for a config without output.dir; to resume, the newest such run."""
    stem = Path(config_path).stem
    if resume:
        earlier = sorted(RUNS_ROOT.glob(f"{stem}-*[0-9]"))
        if not earlier:
            raise ConfigError(f"--resume auto: no earlier run of {config_path} in {RUNS_ROOT}/ "
                              f"(looked for {stem}-<time>); pass the run directory instead")
        return earlier[-1]
    return RUNS_ROOT / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def existing_run_files(run_dir: Path) -> list[str]:
    return [name for name in RUN_FILES if (run_dir / name).exists()]


def refuse_existing_run(run_dir: Path) -> None:
    """A fresh run must not mix its files with an earlier run's."""
    found = existing_run_files(run_dir)
    if found:
        raise ConfigError(f"{run_dir} already holds a run ({', '.join(found)}); pass --resume auto to continue it, "
                          "--overwrite to replace it, or set output.dir (e.g. --set output.dir=runs/other)")


def ensure_writable(run_dir: Path) -> None:
    """Create the run directory, or say why it cannot be used, before any work starts."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"output.dir: {run_dir} is a file, not a directory; choose another output.dir")
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
