"""The shared study: two `nntrain sweep` processes on a real PostgreSQL server, and the budget's counting rules."""

import json
import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nntrain.sweep.study import COUNTS, Budget, claims

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@pytest.mark.slow
def test_two_separate_processes_share_one_postgres_study(shell_command, postgres, base_config, sweep_file, tmp_path):
    sweep = sweep_file(base_config(epochs=3), """
        trials: 6
        sampler: {type: random, seed: 0}
        pruner: none
        space:
          optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}
        """)
    command = [*shell_command.split(), "sweep", str(sweep), "--storage", postgres, "--study", "shared", "-q"]
    processes = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr

    study = optuna.load_study(study_name="shared", storage=postgres.replace("postgresql://", "postgresql+psycopg://"))
    finished = [t for t in study.trials if t.state in FINISHED]
    assert len(finished) == 6  # 6 in all, not 6 each
    assert len({t.number for t in finished}) == 6 and len({t.params["optimizer.lr"] for t in finished}) == 6
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    runs = sorted(path.name for path in (tmp_path / "sweep").glob("trial-*"))
    assert runs == [f"trial-{t.number:04d}" for t in sorted(finished, key=lambda t: t.number)]  # each trained once
    status = subprocess.run([*shell_command.split(), "sweep", "status", str(tmp_path / "sweep"), "--json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert status.returncode == 0, status.stderr  # the directory remembers its storage (without a password)
    listed = [row for row in json.loads(status.stdout) if row["state"] != "skipped"]  # see test_worker.py
    assert [row["state"] for row in listed] == ["complete"] * 6
    values = [row["value"] for row in listed]
    assert values == sorted(values)  # best first: val_loss, minimised
    for row in listed:
        summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
        assert row["epochs"] == summary["epochs_run"] == 3 and row["reason"] == summary["stop_reason"]
        assert row["value"] == summary["best_value"] and set(row["params"]) == {"optimizer.lr"}


def _trial(state: TrialState, counts: bool = False):
    values = {"value": 0.5} if state == TrialState.COMPLETE else {}
    return create_trial(state=state, user_attrs={COUNTS: True} if counts else {}, **values)


def test_the_budget_counts_every_place_taken_and_gives_back_interrupted_and_dead_trials():
    taken = [_trial(TrialState.COMPLETE), _trial(TrialState.PRUNED), _trial(TrialState.RUNNING),
             _trial(TrialState.FAIL, counts=True)]  # diverged: its own result, it keeps its place
    given_back = [_trial(TrialState.FAIL)]  # interrupted, or its worker died: run again
    assert [claims(t) for t in taken + given_back] == [True, True, True, True, False]

    study = optuna.create_study()
    study.add_trials(taken + given_back)  # numbered 0 to 4
    assert Budget(6).left(study) == 2 and Budget(4).left(study) == 0 and Budget(None).left(study) == float("inf")
    # two workers asked at the same moment: the later trial sees the earlier ones fill the budget, and runs not
    assert not Budget(4).taken_before(study, 3) and Budget(4).taken_before(study, 4)
