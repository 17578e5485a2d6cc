"""What the run directories under a folder say about themselves, for `nntrain runs`.

A run's status is `finished`, `diverged` or `failed` (from its summary.json), `running`
(a fit holds its lock), `interrupted` (stopped before writing a summary: Ctrl-C, a kill,
a crash; `--resume` continues it from last.npz), or `failed` too when it stopped before
its first checkpoint, so there is nothing to resume.
"""

from datetime import datetime, timezone
from pathlib import Path

from nntrain.errors import CheckpointError
from nntrain.run.directory import lock_holder
from nntrain.run.directory import read_summary
from nntrain.train.checkpoint import read_checkpoint_meta
from nntrain.train.recorder import read_log

_MARKS = ("config.yaml", "metrics.jsonl", "last.npz", "summary.json")


def is_run(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in _MARKS)


def find_runs(folder: Path) -> list[Path]:
    """The folder itself if it is a run, else the runs directly inside it."""
    return [folder] if is_run(folder) else [path for path in sorted(folder.iterdir()) if is_run(path)]


def describe_run(path: Path, warn) -> dict:
    """A run's status, epochs, best value, stop reason, duration and test metrics."""
    log = read_log(path / "metrics.jsonl") if (path / "metrics.jsonl").exists() else []
    summary = read_summary(path)
    if (path / "summary.json").exists() and not summary:
        warn(f"{path / 'summary.json'} is unreadable; listing {path} from its log")
    run = {"run": str(path), "status": _status(path, summary), "epochs": len(log), "monitor": None,
           "best_value": None, "best_epoch": None, "stop_reason": None, "seconds": None,
           "started": log[0].get("time") if log else None, "test": None}
    if summary:
        run.update({"epochs": summary.get("epochs_run", run["epochs"]), "monitor": summary.get("monitor"),
                    "best_value": summary.get("best_value"), "best_epoch": summary.get("best_epoch"),
                    "stop_reason": summary.get("stop_reason"), "seconds": summary.get("seconds"),
                    "started": summary.get("started", run["started"]), "test": summary.get("test")})
    if run["best_value"] is None:
        best = _checkpoint_meta(path / "best.npz")
        if best:
            monitor = best.get("monitor")
            run.update({"monitor": monitor, "best_epoch": best.get("epoch"),
                        "best_value": (best.get("metrics") or {}).get(monitor)})
    if run["seconds"] is None and log:
        run["seconds"] = round(sum(row.get("seconds", 0) for row in log), 3)
    return run


def _status(path: Path, summary: dict) -> str:
    if lock_holder(path):
        return "running"
    if summary:
        return summary.get("status", "finished")  # summaries before 0.2 were written only when finished
    return "interrupted" if (path / "last.npz").exists() else "failed"


def _checkpoint_meta(path: Path) -> dict | None:
    try:
        return read_checkpoint_meta(path) if path.exists() else None
    except CheckpointError:
        return None


def moment(stamp) -> datetime | None:
    """An ISO time from a log or summary, as an aware datetime (None if it is missing or malformed)."""
    try:
        value = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.astimezone()


def by_start(runs: list[dict]) -> list[dict]:
    return sorted(runs, key=lambda run: moment(run["started"]) or datetime.min.replace(tzinfo=timezone.utc))
