"""Every shipped example config runs, and the headline examples reach their documented quality."""

import json

import pytest

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

EXAMPLES = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_config_trains_briefly(cli, tmp_path, name):
    result = cli("fit", f"configs/{name}", "--set", "training.epochs=2", "--set", f"output.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["epochs_run"] == 2


@pytest.mark.slow
def test_iris_reaches_the_documented_test_accuracy(cli, tmp_path):
    assert cli("fit", "configs/iris.yaml", "--set", f"output.dir={tmp_path}").returncode == 0
    result = cli("eval", tmp_path, "--json")
    assert json.loads(result.stdout)["metrics"]["accuracy"] >= 0.93


@pytest.mark.slow
def test_diabetes_beats_predicting_the_mean(cli, tmp_path):
    assert cli("fit", "configs/diabetes.yaml", "--set", f"output.dir={tmp_path}").returncode == 0
    result = cli("eval", tmp_path, "--json")
    assert json.loads(result.stdout)["metrics"]["r2"] > 0.4


@pytest.mark.slow
def test_penguins_with_missing_values_and_categories_trains_well(cli, tmp_path):
    assert cli("fit", "configs/penguins.yaml", "--set", f"output.dir={tmp_path}").returncode == 0
    result = cli("eval", tmp_path, "--json")
    assert json.loads(result.stdout)["metrics"]["accuracy"] >= 0.95


@pytest.mark.slow
def test_digits_cnn_reaches_97_percent_on_held_out_images(cli, tmp_path):
    result = cli("fit", "configs/digits.yaml", "--set", f"output.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    result = cli("eval", tmp_path, "--json")
    assert json.loads(result.stdout)["metrics"]["accuracy"] >= 0.97


@pytest.mark.slow
def test_changelogs_text_classifier_reaches_the_documented_test_accuracy(cli, tmp_path):
    """Six Debian packages from their changelog text: TF-IDF + scikit-learn's MLP scores 0.892 on average over
    three such splits, this config 0.887 (benchmarks/text.py trains both on the same rows); 0.906 on this one."""
    assert cli("fit", "configs/changelogs.yaml", "--set", f"output.dir={tmp_path}").returncode == 0
    result = cli("eval", tmp_path, "--json")
    assert json.loads(result.stdout)["metrics"]["accuracy"] >= 0.88
