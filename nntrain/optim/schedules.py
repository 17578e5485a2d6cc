"""Learning-rate schedules: the learning rate for each optimizer step.

A schedule is built with the optimizer's base rate, the epoch budget and the
steps per epoch. `lr(step)` gives the rate for global step `step` (0-based);
`on_epoch_end(metrics)` lets reduce-on-plateau react to the monitored value.
Only reduce-on-plateau has state of its own; it is saved with checkpoints.
"""

import math

from nntrain.monitor import is_improvement


class Schedule:
    """Constant learning rate."""

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int):
        self.base_lr = base_lr
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch

    def lr(self, step: int) -> float:
        return self.base_lr

    def on_epoch_end(self, metrics: dict[str, float]) -> None:
        pass

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Constant(Schedule):
    """The optimizer's `lr` throughout."""


class StepDecay(Schedule):
    """Multiply the rate by `gamma` every `step_size` epochs."""

    def __init__(self, base_lr, epochs, steps_per_epoch, step_size: int = 10, gamma: float = 0.1):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.step_size, self.gamma = step_size, gamma

    def lr(self, step):
        epoch = step // self.steps_per_epoch
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class Exponential(Schedule):
    """Multiply the rate by `gamma` after every epoch."""

    def __init__(self, base_lr, epochs, steps_per_epoch, gamma: float = 0.95):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.gamma = gamma

    def lr(self, step):
        return self.base_lr * self.gamma ** (step // self.steps_per_epoch)


class Cosine(Schedule):
    """Linear warm-up over `warmup_epochs`, then cosine decay to `min_lr` at the last epoch (per step)."""

    def __init__(self, base_lr, epochs, steps_per_epoch, warmup_epochs: float = 0, min_lr: float = 0.0):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.warmup_steps = round(warmup_epochs * steps_per_epoch)
        self.total_steps = epochs * steps_per_epoch
        self.min_lr = min_lr

    def lr(self, step):
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class OneCycle(Schedule):
    """One-cycle policy (Smith, 2018) with the optimizer's `lr` as the peak, as PyTorch's OneCycleLR.

    Rises from lr/div_factor to lr, then falls to lr/(div_factor·final_div_factor), both on cosine
    curves. As in OneCycleLR (cycle_momentum off, two phases) the peak is at the fractional step
    p = pct_start·total_steps − 1, not rounded: step s ≤ p is at progress s/p of the rise, a later
    step at progress (s − p)/(total_steps − 1 − p) of the fall. With p ≤ 0 there is no rise
    (OneCycleLR divides by zero at p = 0; here step 0 is then the peak).
    """

    def __init__(self, base_lr, epochs, steps_per_epoch, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.total_steps = epochs * steps_per_epoch
        self.peak_step = float(pct_start * self.total_steps) - 1
        self.start_lr = base_lr / div_factor
        self.end_lr = self.start_lr / final_div_factor

    def lr(self, step):
        if self.peak_step > 0 and step <= self.peak_step:
            return _cosine_between(self.start_lr, self.base_lr, step / self.peak_step)
        progress = (step - self.peak_step) / (self.total_steps - 1 - self.peak_step)
        return _cosine_between(self.base_lr, self.end_lr, min(1.0, progress))


def _cosine_between(start: float, end: float, progress: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * progress))


class ReduceOnPlateau(Schedule):
    """Multiply the rate by `factor` when `monitor` has not improved for `patience` epochs."""

    def __init__(self, base_lr, epochs, steps_per_epoch, monitor: str, mode: str, factor: float = 0.1,
                 patience: int = 5, min_delta: float = 0.0, relative: bool = False, min_lr: float = 0.0):
        super().__init__(base_lr, epochs, steps_per_epoch)
        self.monitor, self.mode = monitor, mode
        self.factor, self.patience, self.min_lr = factor, patience, min_lr
        self.min_delta, self.relative = min_delta, relative
        self.current = base_lr
        self.best: float | None = None
        self.bad_epochs = 0

    def lr(self, step):
        return self.current

    def on_epoch_end(self, metrics):
        value = metrics[self.monitor]
        if self.best is None or is_improvement(value, self.best, self.mode, self.min_delta, self.relative):
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.current = max(self.min_lr, self.current * self.factor)
            self.bad_epochs = 0

    def state(self):
        return {"current": self.current, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state(self, state):
        self.current, self.best, self.bad_epochs = state["current"], state["best"], state["bad_epochs"]


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "one_cycle": OneCycle,
    "reduce_on_plateau": ReduceOnPlateau,
}
