"""`nntrain runs`: the runs under a folder with their status, best metric, epochs, stop reason and duration."""

import json
import sys
from pathlib import Path

from nntrain.commands.display import Display, Table, human_duration
from nntrain.errors import ConfigError
from nntrain.run.listing import by_start, describe_run, find_runs, moment


def list_runs(root: str, display: Display, as_json: bool = False) -> list[dict]:
    folder = Path(root)
    if not folder.is_dir():
        raise ConfigError(f"no runs folder at {root}; train with `nntrain fit CONFIG` first, or name the folder")
    runs = by_start([describe_run(path, display.warn) for path in find_runs(folder)])
    if as_json:
        sys.stdout.write(json.dumps(runs) + "\n")
    elif runs:
        display.result(_table(runs))
    else:
        display.note(f"no runs in {root}")
    return runs


def _table(runs: list[dict]) -> Table:
    table = Table(["run", "status", "started", "epochs", "best", "time", "stopped because"], right=(3, 5))
    for run in runs:
        value = run["best_value"]
        best = f"{run['monitor']} {value:.4g} @{run['best_epoch']}" if isinstance(value, (int, float)) else "-"
        reason = str(run["stop_reason"] or "-").split(" (")[0].split("; ")[0].split(". ")[0]
        when = moment(run["started"])
        table.add(Path(run["run"]).name, run["status"], when.astimezone().strftime("%m-%d %H:%M") if when else "-",
                  run["epochs"], best, human_duration(run["seconds"]), reason)
    return table
