"""`nntrain runs`: the runs under a folder with their best metric, epochs, stop reason and duration."""

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from nntrain.commands.display import Display, human_duration
from nntrain.errors import CheckpointError, ConfigError
from nntrain.train.checkpoint import read_checkpoint_meta
from nntrain.train.recorder import read_log


def list_runs(root: str, display: Display, as_json: bool = False) -> list[dict]:
    folder = Path(root)
    if not folder.is_dir():
        raise ConfigError(f"no runs folder at {root}; train with `nntrain fit CONFIG` first, or name the folder")
    paths = [folder] if _is_run(folder) else [path for path in sorted(folder.iterdir()) if _is_run(path)]
    runs = [describe_run(path, display) for path in paths]
    runs.sort(key=lambda run: _moment(run["started"]) or datetime.min.replace(tzinfo=timezone.utc))
    if as_json:
        sys.stdout.write(json.dumps(runs) + "\n")
    elif runs:
        _show(runs, display)
    else:
        display.note(f"no runs in {root}")
    return runs


def _is_run(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in ("metrics.jsonl", "last.npz", "summary.json"))


def describe_run(path: Path, display: Display) -> dict:
    """What a run directory says about itself: summary.json when it finished, else its log and best checkpoint."""
    log = read_log(path / "metrics.jsonl") if (path / "metrics.jsonl").exists() else []
    summary = _read_json(path / "summary.json")
    if (path / "summary.json").exists() and summary is None:
        display.warn(f"{path / 'summary.json'} is unreadable; listing {path} from its log")
    run = {"run": str(path), "status": "finished" if summary else "unfinished", "epochs": len(log),
           "monitor": None, "best_value": None, "best_epoch": None, "stop_reason": None, "seconds": None,
           "started": log[0].get("time") if log else None, "test": None}
    if summary:
        run.update({"epochs": summary.get("epochs_run"), "monitor": summary.get("monitor"),
                    "best_value": summary.get("best_value"), "best_epoch": summary.get("best_epoch"),
                    "stop_reason": summary.get("stop_reason"), "seconds": summary.get("seconds"),
                    "started": summary.get("started", run["started"]), "test": summary.get("test")})
    else:
        best = _best_checkpoint_meta(path / "best.npz")
        if best:
            monitor = best.get("monitor")
            run.update({"monitor": monitor, "best_epoch": best.get("epoch"),
                        "best_value": (best.get("metrics") or {}).get(monitor)})
        run["seconds"] = round(sum(row.get("seconds", 0) for row in log), 3) if log else None
    return run


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _best_checkpoint_meta(path: Path) -> dict | None:
    try:
        return read_checkpoint_meta(path) if path.exists() else None
    except CheckpointError:
        return None


def _show(runs: list[dict], display: Display) -> None:
    from rich.table import Table

    table = Table()
    table.add_column("run", no_wrap=True, min_width=min(max(len(Path(run["run"]).name) for run in runs), 24))
    table.add_column("started", no_wrap=True, min_width=11)
    table.add_column("epochs", justify="right", min_width=6)
    table.add_column("best", no_wrap=True, min_width=18)
    table.add_column("time", justify="right", no_wrap=True, min_width=7)
    table.add_column("stopped because")
    for run in runs:
        value = run["best_value"]
        best = f"{run['monitor']} {value:.4g} @{run['best_epoch']}" if isinstance(value, (int, float)) else "-"
        reason = (run["stop_reason"] or "not finished").split(" (")[0]
        table.add_row(Path(run["run"]).name, _when(run["started"]), str(run["epochs"]), best,
                      human_duration(run["seconds"]), str(reason))
    display.show(table, min_width=120)


def _moment(stamp) -> datetime | None:
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _when(stamp) -> str:
    moment = _moment(stamp)
    return moment.astimezone().strftime("%m-%d %H:%M") if moment else "-"
