"""`nntrain plot`: training curves of a run, or a sweep's history and parameter importances, as PNG
(needs the optional matplotlib extra; a sweep also the sweep extra)."""

from pathlib import Path

from nntrain.commands.display import Display
from nntrain.errors import CheckpointError, ConfigError
from nntrain.extras import require
from nntrain.run.directory import read_summary
from nntrain.train.metrics import HEADLINE
from nntrain.train.recorder import read_log


def plot(run: str, display: Display, output: str | None = None, study: str | None = None) -> Path:
    if "://" in run or any((Path(run) / name).is_file() for name in ("sweep.json", "study.db")):
        return _plot_sweep(run, display, output, study)
    run_dir = Path(run)
    log = run_dir / "metrics.jsonl"
    if not log.is_file():
        raise CheckpointError(f"{run_dir} has no metrics.jsonl; pass a run directory written by `nntrain fit`")
    rows = read_log(log)
    if not rows:
        raise CheckpointError(f"{log} is empty: the run has not finished an epoch yet")
    pyplot = _pyplot()
    summary = read_summary(run_dir)
    epochs = [row["epoch"] for row in rows]
    metric = next((f"val_{name}" for name in dict.fromkeys(HEADLINE.values()) if f"val_{name}" in rows[0]), None)
    figure, axes = pyplot.subplots(1, 2 if metric else 1, figsize=(11 if metric else 6, 4), squeeze=False)
    losses = axes[0][0]
    for name in ("loss", "val_loss"):
        if name in rows[0]:
            losses.plot(epochs, [row[name] for row in rows], label=name)
    losses.set(xlabel="epoch", ylabel="loss", title="loss")
    if metric:
        axes[0][1].plot(epochs, [row[metric] for row in rows], label=metric, color="tab:green")
        axes[0][1].set(xlabel="epoch", ylabel=metric, title=metric)
    for axis in axes[0]:
        if summary.get("best_epoch"):
            axis.axvline(summary["best_epoch"], color="grey", linestyle=":", label=f"best epoch {summary['best_epoch']}")
        axis.legend()
        axis.grid(alpha=0.3)
    if summary.get("stop_reason"):
        figure.suptitle(f"{run_dir.name}: {summary['stop_reason']}", fontsize=9)
    figure.tight_layout()
    target = Path(output) if output else run_dir / "curves.png"
    try:
        figure.savefig(target, dpi=100)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        pyplot.close(figure)
    display.note(f"wrote {target}")
    return target



def _pyplot():
    matplotlib = require("matplotlib", "plot", "nntrain plot", "matplotlib")
    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _plot_sweep(source: str, display: Display, output: str | None, study: str | None) -> Path:
    """history.png and importances.png of a sweep, in its directory (or the -o folder)."""
    if output is None and "://" in source:
        raise ConfigError("-o: a sweep read from a storage URL needs a folder to write its plots to")
    _pyplot()
    from nntrain.sweep.plots import plot_sweep
    from nntrain.sweep.study import find_study

    folder = Path(output or source)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"-o: cannot create {folder}: {exc.strerror or exc}") from None
    for path in plot_sweep(find_study(source, study), folder, display.warn):
        display.note(f"wrote {path}")
    return folder
