"""`nntrain fit`: train the run a config describes, with progress on stderr, and sum it up."""

import os
import sys
from pathlib import Path

from nntrain.commands.display import Display, Table, human_duration
from nntrain.errors import ConfigError
from nntrain.extras import require
from nntrain.run.api import Run, fit as fit_run
from nntrain.train.parallel import join, launched_by_mpi
from nntrain.train.recorder import read_log


def fit(config_path: str, overrides: list[str], display: Display, *, overwrite: bool = False,
        resume: str | None = None, force: bool = False, log_every: int | None = None,
        started: float | None = None) -> Path:
    if log_every is not None:  # after any --set, so the option wins
        overrides = [*overrides, f"training.log_every={log_every}"]
    group = join()
    run = fit_run(config_path, overrides=overrides, resume=resume, overwrite=overwrite, force=force,
                  progress=display.reporter(), started=started)
    if group is None or group.rank == 0:
        display.info(summary_table(run))
    return run.dir


def launch(processes: int, arguments: list[str]) -> None:
    """Become `mpiexec -n N` running this same `nntrain fit` command (without --processes) on N ranks."""
    if launched_by_mpi():
        raise ConfigError("--processes: this is already one rank of an MPI job; "
                          "leave out --processes under mpiexec or srun")
    require("mpi4py", "mpi", "--processes", "mpi4py")
    mpiexec = Path(sys.executable).parent / "mpiexec"  # the mpich wheel's, beside this Python
    if not mpiexec.is_file():
        raise ConfigError(f"--processes needs {mpiexec}, which the mpich wheel installs; install it with:\n"
                          "pip install 'nntrain[mpi]'")
    command = [str(mpiexec), "-n", str(processes), sys.executable, "-m", "nntrain", *_without_processes(arguments)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def _without_processes(arguments: list[str]) -> list[str]:
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--processes":
            skip = True
        elif not argument.startswith("--processes="):
            kept.append(argument)
    return kept


def summary_table(run: Run) -> Table:
    summary = run.summary
    table = Table(["", ""], title=f"run {run.dir}", header=False)
    table.add("stopped", summary["stop_reason"])
    table.add("epochs", summary["epochs_run"])
    history = [row.get(summary["monitor"]) for row in read_log(run.dir / "metrics.jsonl")]
    if len(history) > 1 and None not in history:
        table.add(summary["monitor"], sparkline(history))
    if summary["best_value"] is not None:
        table.add("best epoch", f"{summary['best_epoch']} ({summary['monitor']} {summary['best_value']:.4g})")
    for name, value in summary.get("test", {}).items():
        table.add(f"test {name}", f"{value:.4f}")
    table.add("model", run.dir / summary["final_checkpoint"])
    table.add("time", human_duration(summary["seconds"]))
    return table


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line chart of values, e.g. '█▆▄▃▂▂▁▁', with at most `width` characters (later values win)."""
    blocks = "▁▂▃▄▅▆▇█"
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return "".join(blocks[round((v - low) / span * (len(blocks) - 1))] for v in values) + \
        f"  {values[0]:.4g} → {values[-1]:.4g}"
