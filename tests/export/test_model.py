"""`nntrain export`: onnxruntime on the exported model, fed raw CSV rows (or image pixels), predicts what
`nntrain predict` predicts, for every example config, a mixed-type table and an image model."""

import numpy as np
import pytest
from PIL import Image

EXAMPLES = ["iris.yaml", "iris-deep.yaml", "diabetes.yaml", "penguins.yaml", "penguins-control.yaml"]
DATA = {"iris": "datasets/iris.csv", "diabetes": "datasets/diabetes.csv", "penguins": "datasets/penguins.csv"}


def fit_and_export(tools, config, folder, *overrides):
    run, model = folder / "run", folder / "model.onnx"
    sets = [arg for key in overrides for arg in ("--set", key)]
    fitted = tools.in_process("fit", config, "--set", f"output.dir={run}", *sets)
    assert fitted.returncode == 0, fitted.stderr
    return run, model, export(tools, run, model)


def export(tools, run, model):
    exported = tools.in_process("export", run, "-o", model)
    assert exported.returncode == 0, exported.stderr
    return exported


@pytest.mark.xdist_group("examples")
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_configs_predict_in_onnxruntime_as_nntrain_predict(tools, repo, example_run, tmp_path, name):
    """Each example, trained briefly: the same classes (or values) and probabilities within 1e-5."""
    run, model = example_run(name), tmp_path / "model.onnx"
    exported = export(tools, run, model)
    data = repo / DATA[name.split("-")[0].removesuffix(".yaml")]
    regression = name == "diabetes.yaml"
    predicted = tools.cli_predictions(run, data, proba=not regression)
    columns = tools.raw_rows(data)
    tools.assert_same_predictions(tools.run_onnx(model, columns), predicted)
    if name == "penguins.yaml":  # NA cells in numeric and text columns, filled (and flagged) alike
        assert ((columns["sex"] == "NA") | (columns["bill_length_mm"] == "NA")).sum() >= 5
    if "dedupe" in (repo / "configs" / name).read_text():
        assert "export: dedupe only changes the rows of training data; left out of the model by design" in \
            exported.stderr
    assert f"wrote {model}: inputs " in exported.stderr and exported.stdout == ""


MIXED_PIPELINE = """
  pipeline:
    - {type: clean, missing: median, indicator: true, columns: {size: {missing: constant, value: none}}}
    - {type: dedupe}
    - {type: drop, columns: [id]}
    - {type: normalize, method: robust, columns: [a]}
    - {type: normalize, method: minmax, range: [-1, 1], columns: [b]}
    - {type: encode, columns: [city], max_categories: 3}
    - {type: encode, method: ordinal, columns: [size]}
    - {type: normalize, method: zscore}
"""

# Every activation, as a layer option or a layer of its own; batchnorm and dropout between them.
MIXED_LAYERS = """
    - {type: dense, units: 12, activation: relu}
    - {type: batchnorm}
    - {type: dense, units: 12, activation: leaky_relu, alpha: 0.2}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 12, activation: elu, alpha: 0.7}
    - {type: dense, units: 12, activation: gelu}
    - {type: dense, units: 12}
    - {type: activation, activation: gelu_tanh}
    - {type: dense, units: 12, activation: tanh}
    - {type: dense, units: 12, activation: sigmoid}
    - {type: dense, units: 12, activation: softmax}
"""

TASKS = {
    "softmax": ("target: label", "cross_entropy", True),
    "sigmoid": ("target: flag_x", "binary_cross_entropy", True),
    "multilabel": ("target: [flag_x, flag_y]\n  features: [id, a, b, city, size]", "binary_cross_entropy", True),
    "regression": ("target: amount\n  features: [id, a, b, city, size]\n  target_transform: log", "mse", False),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, tools):
    folder = tmp_path_factory.mktemp("mixed")
    return folder, *tools.mixed_tables(folder)


@pytest.mark.parametrize("task", TASKS)
def test_mixed_table_with_gaps_and_unseen_categories(tools, mixed, tmp_path, task):
    """Fills, indicators, markers, one-hot with `other`, ordinal, three normalisations, every activation:
    new rows with unseen categories and missing values (empty, NA, null, None, '?') predict alike."""
    folder, train, fresh = mixed
    target, loss, proba = TASKS[task]
    features = "" if "features" in target else "\n  features: [id, a, b, city, size]"
    config = tmp_path / "mixed.yaml"
    config.write_text(f"seed: 3\ntask: {'multilabel' if task == 'multilabel' else 'auto'}\n"
                      f"data:\n  train: {train}\n  {target}{features}{MIXED_PIPELINE}"
                      f"model:\n  layers:{MIXED_LAYERS}loss: {loss}\noptimizer: {{lr: 0.01}}\n"
                      "training: {epochs: 4, batch_size: 16}\n")
    run, model, _ = fit_and_export(tools, config, tmp_path)
    predicted = tools.cli_predictions(run, fresh, proba=proba)
    assert "not seen in training" in predicted.attrs["stderr"]
    onnx = tools.run_onnx(model, tools.raw_rows(fresh))
    tools.assert_same_predictions(onnx, predicted)
    assert set(onnx) == ({"prediction", "probabilities"} if proba else {"prediction"})


def read_pixels(paths) -> np.ndarray:
    """What a serving system feeds an image model: uint8 NHWC at the model's size and colour."""
    return np.stack([np.asarray(Image.open(path).convert("L"), dtype=np.uint8)[:, :, None] for path in paths])


@pytest.mark.parametrize("layers, extra", [
    ("[{type: conv2d, filters: 6, kernel: 3, activation: relu}, {type: batchnorm},"
     " {type: maxpool2d, size: 2, stride: 1}, {type: conv2d, filters: 8, kernel: [2, 3], stride: 2, padding: same},"
     " {type: activation, activation: elu}, {type: avgpool2d, size: 2}, {type: flatten}, {type: dropout, rate: 0.2}]",
     "image: {color: grayscale, size: [8, 8], normalize: true}"),
    ("[{type: conv2d, filters: 4, kernel: 3, padding: 1, activation: gelu}, {type: global_avgpool}]",
     "image: {color: grayscale, size: [8, 8]}"),
])
def test_image_models_predict_in_onnxruntime_as_nntrain_predict(tools, image_folder, tmp_path, layers, extra):
    """conv (valid, same, explicit padding, strides), batchnorm, max and average pooling, global pooling, dropout,
    with and without normalised pixels; the unreadable files predict skips are not fed."""
    config = tmp_path / "images.yaml"
    config.write_text(f"seed: 0\ndata:\n  train: {image_folder}\n  {extra}\n  split: {{validation: 0.2, test: 0.2}}\n"
                      f"model: {{layers: {layers}}}\noptimizer: {{lr: 0.01}}\ntraining: {{epochs: 3, batch_size: 8}}\n")
    run, model, exported = fit_and_export(tools, config, tmp_path)
    assert "inputs image;" in exported.stderr
    predicted = tools.cli_predictions(run, image_folder)
    assert len(predicted) == 45  # the four bad files are skipped
    tools.assert_same_predictions(tools.run_onnx_images(model, read_pixels(predicted["path"])), predicted)


@pytest.mark.xdist_group("examples")
def test_digits_example_predicts_in_onnxruntime_as_nntrain_predict(tools, repo, example_run, tmp_path):
    run, model = example_run("digits.yaml"), tmp_path / "model.onnx"
    export(tools, run, model)
    predicted = tools.cli_predictions(run, repo / "datasets/digits/3")
    onnx = tools.run_onnx_images(model, read_pixels(repo / path for path in predicted["path"]))
    tools.assert_same_predictions(onnx, predicted)


def test_a_float64_model_takes_double_inputs_and_predicts_alike(tools, blobs_config, tmp_path):
    run, model, _ = fit_and_export(tools, blobs_config(epochs=3), tmp_path, "engine.dtype=float64")
    import onnx

    inputs = {i.name: i.type.tensor_type.elem_type for i in onnx.load(model).graph.input}
    assert inputs == {"x1": onnx.TensorProto.DOUBLE, "x2": onnx.TensorProto.DOUBLE}
    data = tmp_path / "blobs.csv"
    tools.assert_same_predictions(tools.run_onnx(model, tools.raw_rows(data)), tools.cli_predictions(run, data))
