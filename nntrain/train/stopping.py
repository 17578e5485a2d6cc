"""Stopping rules: after each epoch, each rule may end training and say why.

`check(epoch, metrics, elapsed)` returns a reason or None. Rules with memory
(plateau) save it with `state()` so a resumed run stops where an uninterrupted
one would. Divergence is checked on every step instead, by `Divergence.check_step`.
"""

import math
import re

from nntrain.errors import DivergenceError
from nntrain.monitor import Best, is_improvement
from nntrain.words import counted


class Rule:
    def check(self, epoch: int, metrics: dict[str, float], elapsed: float) -> str | None:
        return None

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Plateau(Rule):
    """Stop after `patience` epochs without an improvement of `monitor` by more than `min_delta`.

    The reason names the best value and its epoch as the training loop sees them (any
    improvement counts there), so it agrees with `best_epoch` in summary.json.
    """

    def __init__(self, monitor: str, mode: str, patience: int = 10, min_delta: float = 0.0, relative: bool = False):
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.min_delta, self.relative = min_delta, relative
        self.reference: float | None = None  # the value at the last improvement by more than min_delta
        self.waited = 0
        self.best = Best(mode)

    def check(self, epoch, metrics, elapsed):
        value = metrics[self.monitor]
        self.best.update(epoch, value)
        if self.reference is None or is_improvement(value, self.reference, self.mode, self.min_delta, self.relative):
            self.reference, self.waited = value, 0
            return None
        self.waited += 1
        if self.waited >= self.patience:
            by = f"by more than {self.min_delta:g}{' of the best' if self.relative else ''}; " if self.min_delta else ""
            return (f"{self.monitor} has not improved for {counted(self.patience, 'epoch')} "
                    f"({by}best {self.best.value:.6g} at epoch {self.best.epoch})")
        return None

    def state(self):
        return {"reference": self.reference, "waited": self.waited,
                "best": self.best.value, "best_epoch": self.best.epoch}

    def load_state(self, state):
        self.waited = state["waited"]
        self.best.value, self.best.epoch = state["best"], state["best_epoch"]
        # checkpoints before 0.2 kept only the reference, under "best"
        self.reference = state.get("reference", state["best"])


class Target(Rule):
    """Stop once `monitor` reaches `value` (>= for max mode, <= for min mode)."""

    def __init__(self, monitor: str, value: float, mode: str):
        self.monitor, self.value, self.mode = monitor, value, mode

    def check(self, epoch, metrics, elapsed):
        current = metrics[self.monitor]
        reached = current >= self.value if self.mode == "max" else current <= self.value
        if reached:
            sign = ">=" if self.mode == "max" else "<="
            return f"{self.monitor} reached the target: {current:.6g} {sign} {self.value:g}"
        return None


_SPAN = r"[0-9]+(?:\.[0-9]+)?"
# Hours, minutes, seconds in that order, each optional but at least one; a bare number is seconds.
# Also the JSON Schema's `pattern`, so editors refuse what this refuses.
DURATION = rf"^\s*(?:{_SPAN}h(?:\s*{_SPAN}m)?(?:\s*{_SPAN}s?)?|{_SPAN}m(?:\s*{_SPAN}s?)?|{_SPAN}s?)\s*$"
_SECONDS = {"h": 3600, "m": 60, "s": 1, "": 1}


def parse_duration(text: str | float) -> float:
    """Seconds in '90', '90s', '10m', '1h30m' or '2.5h'."""
    if isinstance(text, (int, float)):
        return float(text)
    if not re.match(DURATION, text):
        raise ValueError(f"expected a duration such as 90s, 10m or 1h30m, got {text!r}")
    return sum(float(number) * _SECONDS[unit] for number, unit in re.findall(r"([0-9.]+)([hms]?)", text))


class MaxTime(Rule):
    """Stop once the run has used `limit` of wall-clock time (preparation and saving included, across resumes)."""

    def __init__(self, limit: str | float):
        self.limit = limit
        self.seconds = parse_duration(limit)

    def check(self, epoch, metrics, elapsed):
        if elapsed >= self.seconds:
            return f"time budget of {self.limit} used ({elapsed:.1f}s)"
        return None


class Divergence(Rule):
    """Fail fast when a step's loss is NaN/Inf or exceeds `factor` × the first step's loss."""

    def __init__(self, factor: float = 100.0):
        self.factor = factor
        self.first_loss: float | None = None

    def check_step(self, loss: float, epoch: int, step: int) -> None:
        if not math.isfinite(loss):
            raise DivergenceError(self._message(f"the loss became {loss}", epoch, step), epoch=epoch, step=step)
        if self.first_loss is None:
            self.first_loss = loss
        elif self.first_loss > 0 and loss > self.factor * self.first_loss:
            raise DivergenceError(self._message(
                f"the loss {loss:.4g} exceeds {self.factor:g} × the first step's {self.first_loss:.4g}", epoch, step),
                epoch=epoch, step=step)

    @staticmethod
    def _message(problem: str, epoch: int, step: int) -> str:
        return (f"training diverged at epoch {epoch}, step {step}: {problem}. No checkpoint was written from this "
                "state. Try a lower optimizer.lr, or gradient clipping (optimizer.clip_norm: 1.0)")

    def state(self):
        return {"first_loss": self.first_loss}

    def load_state(self, state):
        self.first_loss = state["first_loss"]


class Callback(Rule):
    """A caller's function, given each epoch's record; a string (or True) it returns stops training.

    Not a config kind: this is how the Python API's `callbacks` (e.g. a sweep's pruner) stop a run.
    """

    def __init__(self, function):
        self.function = function

    def check(self, epoch, metrics, elapsed):
        answer = self.function(dict(metrics))
        if not answer:
            return None
        return answer if isinstance(answer, str) else f"stopped by a callback at epoch {epoch}"


STOPPING_RULES: dict[str, type[Rule]] = {
    "plateau": Plateau,
    "target": Target,
    "max_time": MaxTime,
    "divergence": Divergence,
}
