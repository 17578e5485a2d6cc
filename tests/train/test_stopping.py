"""Stopping rules on crafted metric sequences."""

import math

import pytest

from nntrain.errors import DivergenceError
from nntrain.train.stopping import Divergence, MaxTime, Plateau, Target


def run(rule, values, key="val_loss"):
    for epoch, value in enumerate(values, start=1):
        reason = rule.check(epoch, {key: value}, elapsed=epoch * 1.0)
        if reason:
            return epoch, reason
    return None, None


def test_plateau_fires_after_patience_epochs_without_improvement():
    epoch, reason = run(Plateau("val_loss", "min", patience=3), [1.0, 0.8, 0.81, 0.9, 0.85, 0.7])
    assert epoch == 5
    assert reason == "val_loss has not improved for 3 epochs (best 0.8 at epoch 2)"


def test_plateau_min_delta_and_max_mode():
    epoch, _ = run(Plateau("val_accuracy", "max", patience=2, min_delta=0.05), [0.5, 0.52, 0.54], "val_accuracy")
    assert epoch == 3


def test_plateau_state_round_trip():
    rule = Plateau("val_loss", "min", patience=3)
    run(rule, [1.0, 0.8, 0.9])
    restored = Plateau("val_loss", "min", patience=3)
    restored.load_state(rule.state())
    assert restored.check(4, {"val_loss": 0.95}, 0) is None
    assert restored.check(5, {"val_loss": 0.95}, 0) is not None


def test_target_rule():
    epoch, reason = run(Target("val_accuracy", 0.9, "max"), [0.5, 0.89, 0.91], "val_accuracy")
    assert epoch == 3 and reason == "val_accuracy reached the target: 0.91 >= 0.9"
    epoch, _ = run(Target("val_loss", 0.1, "min"), [0.5, 0.1])
    assert epoch == 2


def test_max_time_rule():
    epoch, reason = run(MaxTime("2.5s"), [1, 1, 1, 1])
    assert epoch == 3 and reason.startswith("time budget of 2.5s used")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_divergence_on_non_finite_loss(bad):
    rule = Divergence()
    rule.check_step(1.0, 1, 1)
    with pytest.raises(DivergenceError, match=r"diverged at epoch 2, step 7: the loss became (nan|inf)"):
        rule.check_step(bad, 2, 7)


def test_divergence_on_finite_blow_up():
    rule = Divergence(factor=10)
    rule.check_step(2.0, 1, 1)
    rule.check_step(19.0, 1, 2)
    with pytest.raises(DivergenceError, match=r"exceeds 10 × the first step's 2"):
        rule.check_step(21.0, 1, 3)
