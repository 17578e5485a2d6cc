"""Planning a sweep: what it refuses before any training, and what it derives (metric, direction, budget)."""

import pytest

from nntrain.errors import ConfigError, DataError
from nntrain.sweep.plan import plan_sweep

SPACE = "space:\n  optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"


def test_the_shipped_example_sweep_plans(repo, monkeypatch):
    monkeypatch.chdir(repo)
    plan = plan_sweep("configs/sweeps/iris.sweep.yaml")
    assert (plan.metric, plan.mode, plan.monitor, plan.trials) == ("val_accuracy", "max", "val_loss", 40)
    assert str(plan.dir) == "sweeps/iris" and plan.storage == "sqlite:///sweeps/iris/study.db" and plan.study == "iris"
    assert plan.split_seed == 7  # iris.yaml's seed: every trial splits its rows as the base config does


def test_the_default_metric_is_the_base_monitor_with_its_direction(base_config, sweep_file):
    plan = plan_sweep(str(sweep_file(base_config(training="monitor: val_f1"), "trials: 3\n" + SPACE)))
    assert (plan.metric, plan.mode) == ("val_f1", "max")


def test_a_grid_runs_each_combination_once_at_most(base_config, sweep_file):
    grid = "sampler: grid\nspace:\n  training.batch_size: {type: categorical, choices: [8, 16]}\n" \
           "  optimizer.lr: {type: float, low: 0.01, high: 0.03, step: 0.01}\n"
    assert plan_sweep(str(sweep_file(base_config(), grid))).trials == 6  # no budget given: the whole grid
    assert plan_sweep(str(sweep_file(base_config(), "trials: 100\n" + grid))).trials == 6
    assert plan_sweep(str(sweep_file(base_config(), grid)), trials=2).trials == 2


@pytest.mark.parametrize("body,error,message", [
    pytest.param("metric: val_r2\ntrials: 3\n" + SPACE, ConfigError,
                 "metric (line 3): 'val_r2' is not reported by the runs of", id="a metric the runs lack"),
    pytest.param(SPACE, ConfigError, "no budget; set trials (e.g. trials: 20) or timeout", id="no budget"),
    pytest.param("trials: 3\nsampler: grid\n" + SPACE, ConfigError,
                 "space.optimizer.lr (line 6): the grid sampler lists every value, so a float key needs a step",
                 id="a grid without steps"),
])
def test_a_sweep_that_every_trial_would_fail_is_refused(base_config, sweep_file, body, error, message):
    with pytest.raises(error) as refused:
        plan_sweep(str(sweep_file(base_config(), body)))
    assert message in str(refused.value)


def test_a_base_config_whose_data_cannot_be_prepared_is_refused_once(write, sweep_file):
    base = write("bad.yaml", "data: {train: missing.csv, target: y}\n")
    with pytest.raises((DataError, ConfigError), match="missing.csv"):
        plan_sweep(str(sweep_file(base, "trials: 3\n" + SPACE)))
