"""Workers through the real CLI: `--workers` sharing the SQLite study, best.yaml, and crash safety (Ctrl-C, kill -9)."""

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml

from nntrain.sweep.study import COUNTS
from nntrain.sweep.trials import SURPLUS

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
WAIT = 600  # seconds: a bound for a hung process only, never reached on a healthy (however busy) host


def _study(folder: Path, name: str = "blobs"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}")


def _summary(run_dir) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


@pytest.mark.slow
def test_two_workers_share_the_default_sqlite_study_and_best_yaml_retrains_to_the_best_value(
        cli, base_config, sweep_file, tmp_path):
    sweep = sweep_file(base_config(epochs=3), """
        metric: val_accuracy
        trials: 6
        sampler: {type: random, seed: 0}
        pruner: none
        space:
          optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}
          model.layers.0.units: {type: int, low: 2, high: 16}
        """)
    result = cli("sweep", sweep, "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    workers = {int(pid) for pid in result.stderr.split("started 2 workers (processes ")[1].split(")")[0].split(", ")}

    study = _study(tmp_path / "sweep")
    finished = [t for t in study.trials if t.state in FINISHED]
    assert len(finished) == 6  # the budget exactly: no trial beyond it, none counted twice
    # Two workers finishing trials at the same moment may both ask for the last place: the later trial is given
    # back unrun, as a failed trial marked skipped that does not count.
    assert all(t.user_attrs["skipped"] and t.user_attrs["reason"] == SURPLUS
               for t in study.trials if t.state not in FINISHED)
    assert {t.user_attrs["process"] for t in finished} <= workers  # trained by the workers, not the parent
    for trial in finished:
        summary = _summary(trial.user_attrs["run_dir"])
        assert Path(trial.user_attrs["run_dir"]).name == f"trial-{trial.number:04d}"
        assert summary["monitor"] == "val_accuracy" and trial.value == summary["best_value"]
    assert len({tuple(t.params.values()) for t in finished}) == 6  # the workers drew different values

    best = yaml.safe_load((tmp_path / "sweep" / "best.yaml").read_text())
    trained = yaml.safe_load((Path(study.best_trial.user_attrs["run_dir"]) / "config.yaml").read_text())
    assert best["seed"] == trained["seed"] and best["output"]["dir"] is None
    retrained = cli("fit", tmp_path / "sweep" / "best.yaml", "-q", cwd=tmp_path)
    assert retrained.returncode == 0, retrained.stderr
    [run] = (tmp_path / "runs").iterdir()
    assert _summary(run)["best_value"] == study.best_value


def _start(cli_args: list, cwd: Path) -> subprocess.Popen:
    """A sweep in the background, its output in a file: into a pipe that nobody reads while the test waits,
    the workers' epoch lines would fill it and block them (on a busy host before the second trial begins)."""
    output = tempfile.TemporaryFile("w+", dir=cwd)
    process = subprocess.Popen(cli_args, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True)
    process.output = output
    return process


def _finish(process: subprocess.Popen) -> str:
    """Wait for a process `_start` began; its output."""
    process.wait(timeout=WAIT)
    return _output(process)


def _output(process: subprocess.Popen) -> str:
    process.output.seek(0)
    return process.output.read()


def _wait_for_epoch(trial_dir: Path, process: subprocess.Popen) -> None:
    """Until the trial has logged an epoch: it is then training (its trials are far longer than that)."""
    deadline = time.monotonic() + WAIT
    while not (trial_dir / "metrics.jsonl").is_file() or not (trial_dir / "metrics.jsonl").read_text():
        assert process.poll() is None, _finish(process)
        assert time.monotonic() < deadline, "the trial never started"
        time.sleep(0.05)


@pytest.mark.slow
def test_ctrl_c_then_kill_9_then_the_same_command_completes_the_budget(shell_command, base_config, sweep_file,
                                                                         tmp_path):
    # Trials draw their values from the sweep's seed and their number alone: with seed 11, trials 0, 1 and 2 draw
    # the hopeless rate (they would train for ages, so every signal lands mid-trial) and trials 3 and 4 the good
    # one (they reach the target in a few epochs). The grace period is short so that the test need not wait long
    # for the killed worker's trial to be declared dead.
    sweep = sweep_file(base_config(epochs=100_000, training="stopping: {type: target, monitor: val_accuracy, "
                                                            "value: 1.0}"), """
        trials: 2
        sampler: {type: random, seed: 11}
        pruner: none
        heartbeat_interval: 1
        grace_period: 4
        space:
          optimizer.lr: {type: categorical, choices: [1.0e-6, 0.05]}
        """)
    command = [*shell_command.split(), "sweep", str(sweep)]
    folder = tmp_path / "sweep"

    interrupted = _start([*command, "--workers", "2"], tmp_path)
    _wait_for_epoch(folder / "trial-0000", interrupted)
    _wait_for_epoch(folder / "trial-0001", interrupted)
    interrupted.send_signal(signal.SIGINT)  # to the parent alone: it passes it on to each worker once
    output = _finish(interrupted)
    assert interrupted.returncode == 130, output
    assert "run the same command again to continue the study" in output
    states = {t.number: (t.state, t.user_attrs) for t in _study(folder).trials}
    assert set(states) == {0, 1}
    for state, attrs in states.values():
        assert state == optuna.trial.TrialState.FAIL and attrs["reason"].startswith("interrupted by SIGINT at epoch")
        assert COUNTS not in attrs  # an interrupted trial gives its place back

    killed = _start(command, tmp_path)
    _wait_for_epoch(folder / "trial-0002", killed)
    killed.kill()
    _finish(killed)

    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=WAIT)
    assert rerun.returncode == 0, rerun.stderr
    trials = _study(folder).trials
    assert trials[2].state == optuna.trial.TrialState.FAIL  # marked failed by the heartbeat check, not by itself
    assert "reason" not in trials[2].user_attrs
    assert [t.number for t in trials if t.state in FINISHED] == [3, 4]  # the budget of 2, reached
    assert len(trials) == 5 and not any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
    assert [t.params["optimizer.lr"] for t in trials] == [1e-6, 1e-6, 1e-6, 0.05, 0.05]
