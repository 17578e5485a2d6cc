"""The engine's vocabulary driven from configs: every layer kind, losses by task, dtypes, class weights."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from nntrain.run.build import layer_specs
from nntrain.run.data import class_weights
from nntrain.config import load_config
from nntrain.nn.model import build_model
from nntrain.train.checkpoint import load_checkpoint


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what engine configs train and report (see `cli_in_process`)."""
    return cli_in_process


EVERY_LAYER = ("model.layers=[{type: flatten}, {type: dense, units: 8, activation: relu}, {type: batchnorm}, "
               "{type: activation, activation: tanh}, {type: dropout, rate: 0.2}, "
               "{type: dense, units: 4, activation: leaky_relu, alpha: 0.1}]")


def test_every_layer_kind_trains_and_the_summary_counts_parameters(cli, blobs_config, tmp_path):
    config = blobs_config()
    summary = cli("summary", config, "--set", EVERY_LAYER, "--json")
    assert summary.returncode == 0, summary.stderr
    table = json.loads(summary.stdout)
    assert [(layer["type"], layer["parameters"]) for layer in table["layers"]] == [
        ("flatten", 0), ("dense (relu)", 2 * 8 + 8), ("batchnorm", 16), ("activation (tanh)", 0),
        ("dropout", 0), ("dense (leaky_relu)", 8 * 4 + 4), ("dense", 4 * 3 + 3)]
    assert table["trainable_parameters"] == 24 + 16 + 36 + 15
    assert table["non_trainable_parameters"] == 16
    fit = cli("fit", config, "--set", EVERY_LAYER, "--set", "training.epochs=20")
    assert fit.returncode == 0, fit.stderr
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["test"]["accuracy"] == 1.0
    table_text = cli("summary", tmp_path / "run").stdout
    assert "total" in table_text and "91" in table_text


def test_image_layers_from_a_config_build_a_model_with_the_global_penalties(write):
    config, _ = load_config(str(write("c.yaml", """
        data: {train: d.csv, target: y}
        regularization: {l2: 0.01}
        model:
          layers:
            - {type: conv2d, filters: 6, kernel: 5, padding: same, activation: relu}
            - {type: maxpool2d, size: 2}
            - {type: conv2d, filters: 4, kernel: [3, 1], stride: [2, 1], l1: 0.1, l2: 0}
            - {type: avgpool2d, size: 2, stride: 1}
            - {type: global_avgpool}
        """)))
    model = build_model(layer_specs(config, 3), (28, 28, 1), config.engine.dtype, np.random.default_rng(0))
    assert model.shapes == [(28, 28, 6), (14, 14, 6), (6, 14, 4), (5, 13, 4), (4,), (3,)]
    conv1, conv2 = model.layers[0], model.layers[2]
    assert (conv1.l1, conv1.l2, conv1.activation_name) == (0.0, 0.01, "relu")
    assert (conv2.l1, conv2.l2, conv2.kernel, conv2.stride) == (0.1, 0, (3, 1), (2, 1))


def test_image_layer_on_table_rows_is_a_config_error(cli, blobs_config):
    result = cli("summary", blobs_config(), "--set", "model.layers=[{type: conv2d, filters: 2, kernel: 3}]")
    assert result.returncode == 2
    assert "model.layers: layer conv2d_1: conv2d needs image input (height, width, channels), got shape (2,)" \
        in result.stderr


def test_loss_that_does_not_fit_the_task_is_a_config_error(cli, blobs_config):
    result = cli("fit", blobs_config(), "--set", "loss=mse")
    assert result.returncode == 2
    assert "loss: mse is a regression loss, but target 'label' holds categories (e.g. 'a')" in result.stderr
    result = cli("fit", blobs_config(), "--set", "task=classification", "--set", "loss=huber")
    assert result.returncode == 2
    assert "loss: huber does not fit a classification task; use loss: cross_entropy" in result.stderr


@pytest.fixture
def binary_csv(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    path = tmp_path / "binary.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": label}).to_csv(path, index=False)
    return path


def test_binary_cross_entropy_uses_one_output_and_reports_both_probabilities(cli, write, binary_csv, tmp_path):
    config = write("b.yaml", f"""
        data: {{train: {binary_csv}, target: label}}
        loss: binary_cross_entropy
        optimizer: {{lr: 0.05}}
        training: {{epochs: 30}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    assert cli("fit", config).returncode == 0
    summary = json.loads(cli("summary", tmp_path / "run", "--json").stdout)
    assert summary["layers"][-1]["output_shape"] == [1]
    table = pd.read_csv(io.StringIO(cli("predict", tmp_path / "run", binary_csv, "--proba").stdout))
    assert list(table.columns) == ["prediction", "proba_no", "proba_yes"]
    assert np.allclose(table.proba_no + table.proba_yes, 1, atol=1e-6)
    truth = pd.read_csv(binary_csv)["label"]
    assert (table.prediction == truth).mean() > 0.95


def test_multilabel_targets(cli, write, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "left": (x[:, 0] < 0).astype(int),
                          "up": (x[:, 1] > 0).astype(int)})
    frame.to_csv(tmp_path / "ml.csv", index=False)
    config = write("m.yaml", f"""
        data: {{train: {tmp_path / 'ml.csv'}, target: [left, up]}}
        loss: binary_cross_entropy
        optimizer: {{lr: 0.05}}
        training: {{epochs: 30}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    assert cli("fit", config).returncode == 0
    report = json.loads(cli("eval", tmp_path / "run", tmp_path / "ml.csv", "--json").stdout)
    assert set(report["metrics"]) == {"accuracy", "exact_match", "f1"} and report["metrics"]["accuracy"] > 0.95
    table = pd.read_csv(io.StringIO(cli("predict", tmp_path / "run", tmp_path / "ml.csv").stdout))
    assert list(table.columns) == ["prediction_left", "prediction_up"]


def test_float64_engine_mode(cli, blobs_config, tmp_path):
    assert cli("fit", blobs_config(), "--set", "engine.dtype=float64", "--set", "training.epochs=2").returncode == 0
    meta, arrays = load_checkpoint(tmp_path / "run" / "best.npz")
    assert meta["model"]["dtype"] == "float64"
    assert {a.dtype for a in arrays.values()} == {np.dtype("float64")}


def test_class_weights_balanced_and_by_name(write):
    config, _ = load_config(str(write("c.yaml", "data: {train: d.csv, target: y}\ntraining: {class_weight: balanced}\n")))
    target = {"task": "classification", "classes": ["a", "b", "c"]}
    weights = class_weights(config, target, np.array([0, 0, 0, 1, 2, 2]), np.float32)
    assert np.allclose(weights, [6 / 9, 6 / 3, 6 / 6])
    config, _ = load_config(str(write("d.yaml", "data: {train: d.csv, target: y}\ntraining: {class_weight: {b: 4}}\n")))
    assert class_weights(config, target, np.array([0]), np.float32).tolist() == [1, 4, 1]
    config, _ = load_config(str(write("e.yaml", "data: {train: d.csv, target: y}\ntraining: {class_weight: {z: 4}}\n")))
    with pytest.raises(Exception, match="unknown classes 'z'; the classes are a, b, c"):
        class_weights(config, target, np.array([0]), np.float32)
