"""Learning-rate schedules at chosen steps."""

import math

import pytest

from nntrain.monitor import is_improvement
from nntrain.optim.schedules import SCHEDULES


def make(name, **options):
    return SCHEDULES[name](0.1, 10, 5, **options)  # base lr 0.1, 10 epochs of 5 steps


def test_constant():
    assert [make("constant").lr(s) for s in (0, 17, 49)] == [0.1, 0.1, 0.1]


def test_step_decay_every_step_size_epochs():
    schedule = make("step", step_size=3, gamma=0.5)
    assert schedule.lr(14) == pytest.approx(0.1)      # epoch 2
    assert schedule.lr(15) == pytest.approx(0.05)     # epoch 3
    assert schedule.lr(30) == pytest.approx(0.025)    # epoch 6


def test_exponential_per_epoch():
    schedule = make("exponential", gamma=0.9)
    assert schedule.lr(4) == pytest.approx(0.1)
    assert schedule.lr(5) == pytest.approx(0.09)
    assert schedule.lr(49) == pytest.approx(0.1 * 0.9**9)


def test_cosine_with_warmup():
    schedule = make("cosine", warmup_epochs=2, min_lr=0.01)
    assert schedule.lr(0) == pytest.approx(0.01)          # 1 of 10 warm-up steps
    assert schedule.lr(9) == pytest.approx(0.1)           # end of warm-up
    assert schedule.lr(10) == pytest.approx(0.1)          # decay starts at the peak
    assert schedule.lr(30) == pytest.approx(0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert schedule.lr(50) == pytest.approx(0.01)


def test_one_cycle_rises_to_lr_then_falls_far_below():
    schedule = make("one_cycle", pct_start=0.3, div_factor=10, final_div_factor=100)
    rates = [schedule.lr(s) for s in range(50)]
    assert rates[0] == pytest.approx(0.01)
    assert max(rates) == pytest.approx(0.1)
    assert rates.index(max(rates)) == 14
    assert rates[-1] == pytest.approx(0.0001)


def test_reduce_on_plateau_waits_patience_epochs_and_keeps_state():
    schedule = make("reduce_on_plateau", monitor="val_loss", mode="min", factor=0.5, patience=2)
    for value in (1.0, 0.9, 0.95, 0.92):
        schedule.on_epoch_end({"val_loss": value})
    assert schedule.lr(0) == pytest.approx(0.05)
    saved = schedule.state()
    restored = make("reduce_on_plateau", monitor="val_loss", mode="min", factor=0.5, patience=2)
    restored.load_state(saved)
    assert restored.lr(0) == pytest.approx(0.05) and restored.best == 0.9


def test_improvement_absolute_and_relative():
    assert is_improvement(0.89, 0.9, "min", min_delta=0.005)
    assert not is_improvement(0.898, 0.9, "min", min_delta=0.005)
    assert is_improvement(0.95, 0.9, "max")
    assert not is_improvement(90.5, 100, "min", min_delta=0.1, relative=True)
    assert is_improvement(89.0, 100, "min", min_delta=0.1, relative=True)
