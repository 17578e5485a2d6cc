"""The sweep file's schema: the base config, the keys to tune and their ranges, the search and its budget.

Validated as strictly as a config (unknown keys, types, bounds, with lines and did-you-means),
and the source of the README's sweep file reference (`python -m nntrain.sweep.reference README.md`).
The `type` names of samplers and pruners match the registries in `nntrain.sweep.engines`.
"""

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from nntrain.config.schema import Mode, PositiveFloat, PositiveInt, Spec
from nntrain.train.stopping import DURATION, parse_duration

Duration = Annotated[str, WithJsonSchema({"type": "string", "pattern": DURATION})] | float
NonNegativeInt = Annotated[int, Field(ge=0)]


def _duration(value):
    parse_duration(value)
    return value


# ---------------------------------------------------------------- the space

class FloatParam(Spec):
    """A number drawn from [low, high]."""

    type: Literal["float"]
    low: float
    """Smallest value."""
    high: float
    """Largest value."""
    log: bool = False
    """Draw evenly on a log scale, as rates and penalties are best searched (needs low > 0)."""
    step: PositiveFloat | None = None
    """Draw only low, low + step, low + 2·step ... up to high (a number the grid sampler can list)."""

    @model_validator(mode="after")
    def _range(self):
        _check_range(self.low, self.high, self.log, self.step)
        return self


class IntParam(Spec):
    """An integer drawn from [low, high], both included."""

    type: Literal["int"]
    low: int
    """Smallest value."""
    high: int
    """Largest value."""
    log: bool = False
    """Draw evenly on a log scale, as layer widths are best searched (needs low ≥ 1)."""
    step: PositiveInt = 1
    """Draw only low, low + step, low + 2·step ... up to high."""

    @model_validator(mode="after")
    def _range(self):
        _check_range(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self


def _check_range(low, high, log: bool, step) -> None:
    if low > high:
        raise ValueError(f"low must be at most high, got low {low} > high {high}")
    if log and low <= 0:
        raise ValueError(f"log: true needs low > 0 (a log scale has no 0), got low {low}")
    if log and step is not None:
        raise ValueError("step and log: true do not go together; keep one")


class CategoricalParam(Spec):
    """One of a list of values: numbers, text, or whole mappings and lists (an optimizer, a list of layers)."""

    type: Literal["categorical"]
    choices: Annotated[list[Annotated[Any, "value"]], Field(min_length=1)]
    """The values to choose from."""


Param = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]


# ---------------------------------------------------------------- samplers

class _Sampler(Spec):
    """What every sampler takes: the sweep's seed."""

    exhaustive: ClassVar[bool] = False  # whether the sampler visits every point of a finite space
    type: str  # first in a resolved sweep; each kind narrows it to its name
    seed: NonNegativeInt = 0
    """Seed of the sweep: with a trial's number it fixes that trial's draws and the seed its run trains with."""


class TPESampler(_Sampler):
    """Tree-structured Parzen estimator: draws near where trials did well; parallel workers spread (constant liar)."""

    type: Literal["tpe"]
    startup_trials: PositiveInt = 10
    """Random trials before the estimator takes over."""


class RandomSampler(_Sampler):
    """Independent uniform draws (log-uniform for `log: true` keys): a baseline that never gets stuck."""

    type: Literal["random"]


class GridSampler(_Sampler):
    """Every combination once, in random order (keys need choices or a step; `trials` defaults to their number)."""

    type: Literal["grid"]
    exhaustive: ClassVar[bool] = True  # the space is finite: the budget is at most its size


class CmaEsSampler(_Sampler):
    """CMA-ES, an evolution strategy over the numeric keys (categorical keys are drawn at random)."""

    type: Literal["cmaes"]


SamplerSpec = Annotated[Union[TPESampler, RandomSampler, GridSampler, CmaEsSampler], Field(discriminator="type")]


# ---------------------------------------------------------------- pruners

class MedianPruner(Spec):
    """Stop a trial whose best value so far is worse than the median of earlier trials at the same epoch."""

    type: Literal["median"]
    startup_trials: NonNegativeInt = 5
    """Trials that must finish before any is pruned."""
    warmup_epochs: NonNegativeInt = 0
    """Epochs every trial trains before it can be pruned."""


class HyperbandPruner(Spec):
    """Hyperband: brackets of successive halving, each rung of epochs keeping the best 1/`reduction_factor`."""

    type: Literal["hyperband"]
    min_epochs: PositiveInt = 1
    """Epochs every trial gets before the first rung."""
    reduction_factor: Annotated[int, Field(gt=1)] = 3
    """How many trials reach a rung for each one that goes on."""


class NoPruner(Spec):
    """Every trial trains until its own stopping rules end it."""

    type: Literal["none"]


PrunerSpec = Annotated[Union[MedianPruner, HyperbandPruner, NoPruner], Field(discriminator="type")]

_DEFAULT_KIND = {"sampler": "tpe", "pruner": "median"}


# ---------------------------------------------------------------- the sweep

class Sweep(Spec):
    """A sweep: every trial is the base config with values drawn for the keys of `space`."""

    base: str
    """The config every trial starts from (relative to the working directory, as a config's data paths are)."""
    dir: str | None = None
    """Folder for the trials (`trial-NNNN/`), the default storage (`study.db`) and `best.yaml`; default
    `sweeps/<sweep file name>`."""
    metric: str | None = None
    """Per-epoch value to optimise, e.g. `val_accuracy`; default the base config's `training.monitor`. Each trial
    picks its best epoch by it, and that epoch's value is the trial's."""
    mode: Mode = "auto"
    """`min` or `max` for `metric`; `auto` picks from its name (for the default metric: `training.mode`)."""
    trials: PositiveInt | None = None
    """Trials in all, across every worker; completed, pruned and failed trials count, interrupted ones and those
    of killed workers do not (they are run again). `--trials` overrides it."""
    timeout: Annotated[Duration, "duration"] | None = None
    """Each worker starts no trial after this long, as seconds or `90s`, `30m`, `2h` (the running one
    finishes). `--timeout` overrides it."""
    sampler: SamplerSpec = Field(default_factory=lambda: TPESampler(type="tpe"))
    """How values are drawn (a name, or a mapping with `type`)."""
    pruner: PrunerSpec = Field(default_factory=lambda: MedianPruner(type="median"))
    """Which trials are stopped early, judged epoch by epoch (a name, or a mapping with `type`)."""
    space: Annotated[dict[Annotated[str, "key path"], Param], Field(min_length=1)]
    """The keys to tune, written as for `--set` (`optimizer.lr`, `model.layers[0].units` or
    `model.layers.0.units`), each with its range or choices."""
    heartbeat_interval: Annotated[Duration, "duration"] = 30
    """How often a running trial tells the storage it is alive."""
    grace_period: Annotated[Duration, "duration"] = 300
    """A running trial silent this long is marked failed (its worker was killed) and run again."""

    @field_validator("timeout", "heartbeat_interval", "grace_period")
    @classmethod
    def _durations(cls, value):
        return value if value is None else _duration(value)

    @field_validator("sampler", "pruner", mode="before")
    @classmethod
    def _name_shorthand(cls, value, info):
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and "type" not in value:
            return {"type": _DEFAULT_KIND[info.field_name], **value}
        return value

    @field_validator("grace_period")
    @classmethod
    def _outlasts_heartbeats(cls, value, info):
        interval = info.data.get("heartbeat_interval")
        if interval is not None and parse_duration(value) <= parse_duration(interval):
            raise ValueError(f"must be longer than heartbeat_interval ({parse_duration(interval):g}s), or a live "
                             f"trial would look dead; got {value}")
        return value
