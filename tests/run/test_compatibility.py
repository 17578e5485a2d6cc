"""Runs written by the previous release (0.1.0, before the run package) load, predict and resume the same."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
RELEASE_0_1 = "71508e1de0ad401364dca91d286ff6f9b909806d"
ENTRY = str(Path(sys.executable).parent / "nntrain")


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """A run trained by nntrain 0.1.0's own code, taken from this repository's history."""
    folder = tmp_path_factory.mktemp("release-0.1")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RELEASE_0_1, "nntrain"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"the history holding release 0.1.0 is not in this clone: {archive.stderr.decode()[:200]}")
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(folder / "old", filter="data")
    config = folder / "penguins.yaml"
    config.write_text((REPO / "configs" / "penguins.yaml").read_text().replace(
        "datasets/", f"{REPO / 'datasets'}/"))
    env = {**os.environ, "PYTHONPATH": str(folder / "old"), "NO_COLOR": "1"}  # run from `folder`: not this checkout
    for name, epochs in (("run", 3), ("unfinished", 2)):
        result = subprocess.run([sys.executable, "-m", "nntrain", "fit", str(config), "--set", f"training.epochs={epochs}",
                                 "--set", f"output.dir={folder / name}"], capture_output=True, text=True, env=env, cwd=folder)
        assert result.returncode == 0, result.stderr
    (folder / "unfinished" / "summary.json").unlink()  # as if it had been interrupted
    old_predictions = subprocess.run([sys.executable, "-m", "nntrain", "predict", str(folder / "run"),
                                      str(REPO / "datasets" / "penguins.csv"), "--proba"],
                                     capture_output=True, text=True, env=env, cwd=folder)
    assert old_predictions.returncode == 0, old_predictions.stderr
    return folder, config, old_predictions.stdout


def test_a_run_of_release_0_1_predicts_and_evaluates_the_same(old_run):
    folder, _, expected = old_run
    result = subprocess.run([ENTRY, "predict", str(folder / "run"), str(REPO / "datasets" / "penguins.csv"),
                             "--proba"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    evaluated = subprocess.run([ENTRY, "eval", str(folder / "run"), "--json"], capture_output=True, text=True)
    assert evaluated.returncode == 0, evaluated.stderr
    assert len(pd.read_csv(io.StringIO(expected))) == 344


def test_an_interrupted_run_of_release_0_1_resumes(old_run):
    folder, config, _ = old_run
    listed = subprocess.run([ENTRY, "runs", str(folder), "--json"], capture_output=True, text=True)
    assert {Path(run["run"]).name: run["status"] for run in json.loads(listed.stdout)} == \
        {"run": "finished", "unfinished": "interrupted"}
    result = subprocess.run([ENTRY, "fit", str(config), "--set", "training.epochs=2", "--set",
                             f"output.dir={folder / 'unfinished'}", "--resume", str(folder / "unfinished")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"resuming {folder / 'unfinished'} from last.npz at epoch 3" in result.stderr
    summary = json.loads((folder / "unfinished" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_run"] == 2


def test_resuming_a_0_1_run_with_gelu_names_the_change_of_meaning(old_run, tmp_path):
    folder, config, _ = old_run
    gelu = tmp_path / "gelu.yaml"
    gelu.write_text(config.read_text().replace("activation: relu", "activation: gelu"))
    env = {**os.environ, "PYTHONPATH": str(folder / "old"), "NO_COLOR": "1"}
    run = tmp_path / "gelu-run"
    trained = subprocess.run([sys.executable, "-m", "nntrain", "fit", str(gelu), "--set", "training.epochs=2",
                              "--set", f"output.dir={run}"], capture_output=True, text=True, env=env, cwd=folder)
    assert trained.returncode == 0, trained.stderr
    (run / "summary.json").unlink()
    result = subprocess.run([ENTRY, "fit", str(gelu), "--set", "training.epochs=2", "--set", f"output.dir={run}",
                             "--resume", str(run)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "model.layers[0].activation: 'gelu_tanh' -> 'gelu'" in result.stderr
    assert "whose gelu is now called gelu_tanh: write gelu_tanh to resume it as it was" in result.stderr
    tanh = subprocess.run([ENTRY, "fit", str(gelu), "--set", "training.epochs=2", "--set", f"output.dir={run}",
                           "--set", "model.layers[0].activation=gelu_tanh", "--resume", str(run)],
                          capture_output=True, text=True)
    assert tanh.returncode == 0, tanh.stderr  # the same model as it was trained: no --force needed
    assert f"resuming {run} from last.npz" in tanh.stderr
