"""Trials through the real CLI: pruned at an epoch and saying so, failed with their reason, the sweep going on."""

import json
import re

import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what a sweep says and records (see `cli_in_process`)."""
    return cli_in_process


@pytest.mark.slow
def test_hopeless_rates_are_pruned_and_diverging_ones_fail_without_stopping_the_sweep(cli, base_config, sweep_file,
                                                                                      tmp_path):
    # Half the rates are hopeless: 1e-6 learns nothing (the median rule prunes it), 1e4 diverges. With seed 7 the
    # trials draw 0.05, 0.03, 1e4, 1e-6, 1e4, 0.03 (a trial's draws depend on the sweep's seed and its number only).
    sweep = sweep_file(base_config(epochs=4), """
        metric: val_accuracy
        trials: 6
        sampler: {type: random, seed: 7}
        pruner: {type: median, startup_trials: 2, warmup_epochs: 1}
        space:
          optimizer.lr: {type: categorical, choices: [1.0e-6, 0.03, 0.05, 1.0e+4]}
        """)
    result = cli("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"warning: trial 2 failed: training diverged at epoch 1, step \d+", result.stderr)
    assert "trials  6: 3 complete, 1 pruned, 2 failed" in result.stderr  # failures count toward the budget

    status = cli("sweep", "status", tmp_path / "sweep", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[1].split()[:3] == ["trial", "state", "val_accuracy"] and "optimizer.lr" in lines[1]
    states = [line.split()[1] for line in lines[2:]]
    assert states == ["complete"] * 3 + ["pruned"] + ["failed"] * 2  # best first
    pruned = lines[5]
    epoch = re.search(r"pruned by median rule at epoch (\d+)$", pruned)
    assert pruned.split()[0] == "3" and "1e-06" in pruned and epoch
    summary = json.loads((tmp_path / "sweep" / "trial-0003" / "summary.json").read_text())
    assert summary["stop_reason"] == f"pruned by median rule at epoch {epoch[1]}"  # the run dir is kept
    assert summary["epochs_run"] == int(epoch[1]) < 4
    assert all("training diverged at epoch 1" in line for line in lines[6:])
    values = [float(line.split()[2]) for line in lines[2:5]]
    assert values == sorted(values, reverse=True)
