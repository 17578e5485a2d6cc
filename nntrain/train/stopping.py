"""Stopping rules: after each epoch, each rule may end training and say why.

`check(epoch, metrics, elapsed)` returns a reason or None. Rules with memory
(plateau) save it with `state()` so a resumed run stops where an uninterrupted
one would. Divergence is checked on every step instead, by `Divergence.check_step`.
"""

import math

from nntrain.errors import DivergenceError
from nntrain.optim.schedules import is_improvement


class Rule:
    def check(self, epoch: int, metrics: dict[str, float], elapsed: float) -> str | None:
        return None

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Plateau(Rule):
    """Stop after `patience` epochs without improvement of `monitor`."""

    def __init__(self, monitor: str, mode: str, patience: int = 10, min_delta: float = 0.0, relative: bool = False):
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.min_delta, self.relative = min_delta, relative
        self.best: float | None = None
        self.best_epoch = 0
        self.waited = 0

    def check(self, epoch, metrics, elapsed):
        value = metrics[self.monitor]
        if self.best is None or is_improvement(value, self.best, self.mode, self.min_delta, self.relative):
            self.best, self.best_epoch, self.waited = value, epoch, 0
            return None
        self.waited += 1
        if self.waited >= self.patience:
            return (f"{self.monitor} has not improved for {self.patience} epochs "
                    f"(best {self.best:.6g} at epoch {self.best_epoch})")
        return None

    def state(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited}

    def load_state(self, state):
        self.best, self.best_epoch, self.waited = state["best"], state["best_epoch"], state["waited"]


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


class MaxTime(Rule):
    """Stop once training has used `seconds` of wall-clock time (across resumes)."""

    def __init__(self, seconds: float, limit: str | float):
        self.seconds, self.limit = seconds, limit

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
            raise DivergenceError(self._message(f"the loss became {loss}", epoch, step))
        if self.first_loss is None:
            self.first_loss = loss
        elif self.first_loss > 0 and loss > self.factor * self.first_loss:
            raise DivergenceError(self._message(
                f"the loss {loss:.4g} exceeds {self.factor:g} × the first step's {self.first_loss:.4g}", epoch, step))

    @staticmethod
    def _message(problem: str, epoch: int, step: int) -> str:
        return (f"training diverged at epoch {epoch}, step {step}: {problem}. No checkpoint was written from this "
                "state. Try a lower optimizer.lr, or gradient clipping (optimizer.clip_norm: 1.0)")

    def state(self):
        return {"first_loss": self.first_loss}

    def load_state(self, state):
        self.first_loss = state["first_loss"]


STOPPING_RULES: dict[str, type[Rule]] = {
    "plateau": Plateau,
    "target": Target,
    "max_time": MaxTime,
    "divergence": Divergence,
}
