"""What a sweep file means, checked before any training: the base config, the space, the metric, the budget.

`plan_sweep` refuses (exit 2, or 3 for data) everything that would make every trial fail:
a bad sweep file, a base config that does not validate or whose data cannot be prepared,
a space with an invalid point, a metric the runs do not report, no budget at all.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from nntrain.config.loading import load_config
from nntrain.config.messages import Origins
from nntrain.errors import ConfigError
from nntrain.monitor import resolve_mode
from nntrain.run.build import available_metrics, plan
from nntrain.sweep.file import read_sweep_file, sweep_name
from nntrain.sweep.schema import Sweep
from nntrain.sweep.space import Space, build_space, check_space
from nntrain.train.stopping import parse_duration

SWEEPS_ROOT = Path("sweeps")


@dataclass(frozen=True)
class SweepPlan:
    """A sweep ready to run: where it goes, what it tunes and optimises, and for how long."""

    source: str           # the sweep file
    sweep: Sweep
    base: dict            # the base config's raw data
    space: Space
    dir: Path
    storage: str          # the storage URL as given (default: the SQLite file in `dir`)
    study: str
    metric: str
    mode: str             # min or max
    monitor: str          # the base config's own training.monitor, which its stopping rules keep watching
    trials: int | None
    timeout: float | None
    epochs: int           # the base config's training.epochs, the most any trial trains
    split_seed: int       # every trial splits its rows as the base config does, so all are judged on the same rows
    notes: tuple[str, ...] = ()  # what preparing the base config's data noticed, shown once

    @property
    def seed(self) -> int:
        return self.sweep.sampler.seed


def plan_sweep(path: str, *, trials: int | None = None, timeout: str | None = None, storage: str | None = None,
               study: str | None = None) -> SweepPlan:
    """Read and check a sweep file, with `--trials`, `--timeout`, `--storage` and `--study` applied."""
    sweep, origins = read_sweep_file(path)
    if not Path(sweep.base).is_file():
        raise ConfigError(f"invalid sweep file {path}:\n  base{_line(origins, 'base')}: no config file {sweep.base} "
                          "(paths are relative to the working directory)")
    config, base_data = load_config(sweep.base)
    space = build_space(sweep, origins, base_data, path)
    check_space(space, base_data, path)
    if sweep.sampler.exhaustive:
        try:
            grid_size = math.prod(len(values) for values in space.grid().values())
        except ConfigError as exc:
            raise ConfigError(f"invalid sweep file {path}:\n  {exc}") from None
        trials = min(trials or sweep.trials or grid_size, grid_size)
    blueprint = plan(config)  # prepares the data once: a data error would otherwise fail every trial
    metric = sweep.metric or blueprint.monitor
    available = available_metrics(blueprint.task, blueprint.has_validation)
    if metric not in available:
        raise ConfigError(f"invalid sweep file {path}:\n  metric{_line(origins, 'metric')}: {metric!r} is not "
                          f"reported by the runs of {sweep.base}; available: {', '.join(available)}")
    mode = blueprint.mode if sweep.metric is None and sweep.mode == "auto" else resolve_mode(metric, sweep.mode)
    trials = trials or sweep.trials
    timeout_seconds = _seconds(timeout, "--timeout") if timeout is not None else \
        (parse_duration(sweep.timeout) if sweep.timeout is not None else None)
    if trials is None and timeout_seconds is None:
        raise ConfigError(f"{path}: no budget; set trials (e.g. trials: 20) or timeout (e.g. timeout: 30m) in the "
                          "sweep file, or pass --trials / --timeout")
    folder = Path(sweep.dir) if sweep.dir else SWEEPS_ROOT / sweep_name(path)
    return SweepPlan(path, sweep, base_data, space, folder, storage or f"sqlite:///{folder / 'study.db'}",
                     study or sweep_name(path), metric, mode, blueprint.monitor, trials, timeout_seconds,
                     config.training.epochs, config.seed if config.data.split.seed is None else config.data.split.seed,
                     tuple(blueprint.data.notes))


def _line(origins: Origins, key: str) -> str:
    line = origins.lines.get((key,))
    return f" (line {line})" if line else ""


def _seconds(text: str, key: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{key}: must be longer than 0, got {text!r}")
    return seconds
