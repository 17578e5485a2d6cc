"""The search space: key paths of the base config, each with a range or choices, checked before any training.

A key is written as for `--set`, and every value it can take is put into the base config the
way `--set` would put it. Before a sweep starts, `check_space` builds configs at the corners of
the space (each key's low and high, every choice) and validates them as `nntrain check` would:
first each key alone, then every combination of corners, so a bad bound, type or choice is
refused (exit 2) naming the key and its line, not found in the middle of the night by trial 37.
"""

import copy
import itertools
import json
import math
from dataclasses import dataclass

from pydantic import ValidationError

from nntrain.config.fields import KeyPath, with_list_indexes
from nntrain.config.messages import Origins, problems
from nntrain.config.overrides import format_path, parse_key_path, set_value
from nntrain.config.schema import Config
from nntrain.errors import ConfigError
from nntrain.sweep.schema import CategoricalParam, FloatParam, IntParam, Sweep

MAX_COMBINATIONS = 4096  # corner combinations validated together (a validation takes well under a millisecond)
_PLAIN = (str, int, float, bool, type(None))  # what Optuna stores as a categorical value as it is


class Unplaceable(ConfigError):
    """A value that cannot be put at its key: the key path runs through a list item or a value that is not there."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Dimension:
    """One key of the space: its name in the study (as written), its key path in the config, and its range."""

    key: str
    path: KeyPath
    spec: FloatParam | IntParam | CategoricalParam
    where: str  # " (line N)" of the sweep file

    @property
    def encoded(self) -> bool:
        """Whether choices are stored in the study as JSON text (Optuna keeps only plain values)."""
        return isinstance(self.spec, CategoricalParam) and not all(isinstance(c, _PLAIN) for c in self.spec.choices)

    def corners(self) -> list:
        """Values that bound what the key can be: low and high (on the step), or every choice."""
        spec = self.spec
        if isinstance(spec, CategoricalParam):
            return list(spec.choices)
        return list(dict.fromkeys([spec.low, self._top()]))

    def _top(self):
        spec = self.spec
        if spec.step is None:
            return spec.high
        steps = math.floor((spec.high - spec.low) / spec.step + 1e-9)
        return spec.low + steps * spec.step

    def suggest(self, trial):
        """Draw this key's value for an Optuna trial, as the config takes it."""
        spec = self.spec
        if isinstance(spec, FloatParam):
            return trial.suggest_float(self.key, spec.low, self._top(), log=spec.log, step=spec.step)
        if isinstance(spec, IntParam):
            return trial.suggest_int(self.key, spec.low, self._top(), log=spec.log, step=spec.step)
        drawn = trial.suggest_categorical(self.key, self.study_values())
        return json.loads(drawn) if self.encoded else drawn

    def study_values(self) -> list:
        """The choices as the study stores them."""
        return [json.dumps(choice) for choice in self.spec.choices] if self.encoded else list(self.spec.choices)

    def grid(self) -> list:
        """Every value, for the grid sampler."""
        spec = self.spec
        if isinstance(spec, CategoricalParam):
            return self.study_values()
        if spec.step is None:
            raise ConfigError(f"space.{self.key}{self.where}: the grid sampler lists every value, so a float key "
                              "needs a step (e.g. step: 0.1), or make it categorical")
        count = round((self._top() - spec.low) / spec.step) + 1
        return [spec.low + index * spec.step for index in range(count)]

    def describe(self, value) -> str:
        """How a value is named in messages: 'low 0.0', 'high 0.5', 'the choice {"type": "sgd"}'."""
        if isinstance(self.spec, CategoricalParam):
            return f"the choice {json.dumps(value)}"
        return f"{'low' if value == self.spec.low else 'high'} {value}"


class Space:
    """The dimensions of a sweep, applied parents first (`optimizer` before `optimizer.lr`)."""

    def __init__(self, dimensions: list[Dimension]):
        self.dimensions = sorted(dimensions, key=lambda d: len(d.path))

    def suggest(self, trial) -> dict:
        """One point: each key's value drawn for the trial, in application order."""
        return {d.key: d.suggest(trial) for d in self.dimensions}

    def apply(self, base: dict, values: dict) -> dict:
        """A copy of raw config data with the point's values put at their key paths, as `--set` puts them."""
        data = copy.deepcopy(base)
        for d in self.dimensions:
            if d.key in values:
                label = f"space.{d.key}"
                try:
                    set_value(data, d.path, copy.deepcopy(values[d.key]), label)
                except ConfigError as exc:
                    raise Unplaceable(str(exc).removeprefix(f"--set {label}: "), d.key) from None
        return data

    def grid(self) -> dict[str, list]:
        return {d.key: d.grid() for d in self.dimensions}


def build_space(sweep: Sweep, origins: Origins, base: dict, source: str) -> Space:
    """The space of a sweep file, its key paths read against the base config's data."""
    dimensions, seen = [], {}
    for key, spec in sweep.space.items():
        where = _where(origins, ("space", key))
        try:
            path = with_list_indexes(parse_key_path(key), base)
        except ConfigError:
            raise _invalid(source, f"space.{key}{where}: not a key path; write it as for --set, like optimizer.lr "
                                   "or model.layers[0].units") from None
        if path in seen:
            raise _invalid(source, f"space.{key}{where}: names the same key as space.{seen[path]}; keep one")
        seen[path] = key
        dimensions.append(Dimension(key, path, spec, where))
    return Space(dimensions)


def check_space(space: Space, base: dict, source: str) -> None:
    """Refuse a space with a point that is not a valid config, naming the key, its line and the value."""
    first = {d.key: d.corners()[0] for d in space.dimensions}
    applied: dict = {}
    for d in space.dimensions:  # the first values, one key more at a time: the key that breaks it is to blame
        applied[d.key] = first[d.key]
        _check_point(space, base, applied, source, [d])
    for d in space.dimensions:  # each key's other corners, the rest at their first values
        for value in d.corners()[1:]:
            _check_point(space, base, {**first, d.key: value}, source, [d])
    corners = [d.corners() for d in space.dimensions]
    if math.prod(map(len, corners)) <= MAX_COMBINATIONS:  # keys that are fine alone and not together
        for values in itertools.product(*corners):
            point = dict(zip(first, values))
            _check_point(space, base, point, source, [d for d in space.dimensions if point[d.key] != first[d.key]])


def _check_point(space: Space, base: dict, point: dict, source: str, blamed: list[Dimension]) -> None:
    misplaced = None  # the key whose value had nowhere to go
    try:
        data = space.apply(base, point)
    except Unplaceable as exc:
        problem, misplaced = f"{exc} (for space.{exc.key})", exc.key
    else:
        try:
            Config.model_validate(data)
            return
        except ValidationError as exc:
            problem = problems(exc, data, Origins())[0]
    if len(blamed) == 1:
        d = blamed[0]
        if misplaced == d.key or problem.startswith(f"{format_path(d.path)}: unknown key"):
            raise _invalid(source, f"space.{d.key}{d.where}: not a key of the base config "
                                   f"({problem.removesuffix(f' (for space.{d.key})')})")
        raise _invalid(source, f"space.{d.key}{d.where}: {d.describe(point[d.key])} gives an invalid config: "
                               f"{problem}")
    together = ", ".join(f"space.{d.key}{d.where} = {json.dumps(point[d.key])}" for d in blamed)
    raise _invalid(source, f"{together}: together they give an invalid config: {problem}")


def _where(origins: Origins, path: KeyPath) -> str:
    line = origins.lines.get(path)
    return f" (line {line})" if line else ""


def _invalid(source: str, problem: str) -> ConfigError:
    return ConfigError(f"invalid sweep file {source}:\n  {problem}")
