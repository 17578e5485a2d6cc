"""What `nntrain export` refuses, with exit 2 and the piece named, rather than export a model that predicts
otherwise than `nntrain predict`; and the optional extra."""

import subprocess
import sys

import pytest

from nntrain.data.pipeline import STEPS
from nntrain.export.layers import ACTIVATION_NODES, LAYER_NODES
from nntrain.export.pipeline import STEP_NODES
from nntrain.nn.activations import ACTIVATIONS
from nntrain.nn.layers import LAYERS


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what export refuses and says (see `cli_in_process`)."""
    return cli_in_process


def test_every_layer_activation_and_step_has_an_onnx_form():
    assert set(LAYER_NODES) == set(LAYERS.values())
    assert set(ACTIVATION_NODES) == set(ACTIVATIONS)
    assert set(STEP_NODES) == set(STEPS)


def test_encoding_a_numeric_column_is_refused_naming_it(cli, blobs_config, tmp_path):
    """predict matches a numeric column's categories as text written per file ('7' or '7.0'): not exportable."""
    fitted = cli("fit", blobs_config(epochs=2), "--set", "data.pipeline=[{type: encode, columns: [x1]}]")
    assert fitted.returncode == 0, fitted.stderr
    result = cli("export", tmp_path / "run", "-o", tmp_path / "model.onnx")
    assert result.returncode == 2
    assert "encode of numeric column 'x1' cannot be exported" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model.onnx").exists()


def _refused_export(cli, write, tmp_path, header: str, rows: str, pipeline: str = "[]"):
    """Fit a one-epoch run on a CSV of `header` and `rows` with `pipeline`, then export it: the export's result,
    after checking it refused (exit 2) and wrote nothing."""
    data = write("t.csv", header + "\n" + rows + "\n")
    config = write("t.yaml", f"""
        data: {{train: {data}, target: label, pipeline: {pipeline}}}
        model: {{layers: [{{type: dense, units: 4}}]}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    assert cli("fit", config).returncode == 0
    result = cli("export", tmp_path / "run", "-o", tmp_path / "model.onnx")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model.onnx").exists()
    return result


def test_an_input_column_named_like_an_output_is_refused(cli, write, tmp_path):
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(40))
    result = _refused_export(cli, write, tmp_path, "prediction,x,label", rows)
    assert "input column 'prediction' has the name of an output of the model" in result.stderr


def test_export_without_onnx_exits_2_with_the_install_line(cli, blobs_config, tmp_path):
    hidden = tmp_path / "no-onnx" / "onnx"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'onnx'\")\n")
    assert cli("fit", blobs_config(epochs=1)).returncode == 0
    result = cli("export", tmp_path / "run", "-o", tmp_path / "model.onnx", env={"PYTHONPATH": str(hidden.parent)})
    assert result.returncode == 2
    assert "nntrain export needs onnx, an optional extra; install it with:" in result.stderr
    assert "pip install 'nntrain[onnx]'" in result.stderr.splitlines()
    assert not (tmp_path / "model.onnx").exists()


def test_other_commands_do_not_import_onnx(repo):
    code = "import sys, nntrain, nntrain.cli, nntrain.commands.export; print('onnx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, timeout=600)
    assert result.stdout.strip() == "False", result.stderr


def test_a_dates_step_is_refused_naming_it(cli, write, tmp_path):
    """Parsing dates from text needs operators standard ONNX does not have."""
    rows = "\n".join(f"2024-01-{1 + i % 28:02d},{i % 5},{'ab'[i % 2]}" for i in range(40))
    result = _refused_export(cli, write, tmp_path, "when,x,label", rows, "[{type: dates}, {type: normalize}]")
    assert "export: pipeline step 'dates' cannot be exported: parsing dates from text" in result.stderr


def test_the_text_step_is_refused_naming_it(cli, tmp_path):
    """The changelogs example: ONNX has no Unicode word tokeniser or stable string hash, so exit 2, not a model."""
    fitted = cli("fit", "configs/changelogs.yaml", "--set", "training.epochs=1", "--set", f"output.dir={tmp_path / 'run'}",
                 "--set", "data.pipeline[0]={type: drop, columns: [date]}")  # the dates step would be refused first
    assert fitted.returncode == 0, fitted.stderr
    result = cli("export", tmp_path / "run", "-o", tmp_path / "model.onnx")
    assert result.returncode == 2
    assert "export: the text step (column 'text') cannot be exported" in result.stderr
    assert not (tmp_path / "model.onnx").exists()
