"""Monitored metrics: which direction is better, and the one notion of "best so far".

The training loop (best epoch, `best.npz`), the plateau stopping rule and the
reduce-on-plateau schedule all judge a metric with the functions here, so they
never disagree about which epoch was best.
"""

_MINIMISED = ("loss", "mse", "mae")


def infer_mode(metric: str) -> str:
    """'min' for losses and errors, 'max' for scores such as accuracy, f1 and r2."""
    return "min" if metric.endswith(_MINIMISED) else "max"


def resolve_mode(metric: str, mode: str) -> str:
    """A config's `mode` with `auto` replaced by the direction the metric's name implies."""
    return infer_mode(metric) if mode == "auto" else mode


def is_improvement(value: float, best: float, mode: str, min_delta: float = 0.0, relative: bool = False) -> bool:
    """Whether `value` beats `best` by more than min_delta (a fraction of |best| when relative)."""
    margin = min_delta * abs(best) if relative else min_delta
    return value < best - margin if mode == "min" else value > best + margin


class Best:
    """The best value of one metric so far and the epoch it came from (any improvement counts)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.value: float | None = None
        self.epoch = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record an epoch's value; True if it is the new best."""
        if self.value is not None and not is_improvement(value, self.value, self.mode):
            return False
        self.value, self.epoch = value, epoch
        return True
