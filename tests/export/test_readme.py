"""The README's "Export and serve" section: its onnxruntime example runs as written, and the opset, IR version,
input and output names and dtypes it states are those of an exported model."""

import re
import subprocess
import sys

import onnx
import pytest

from nntrain.export.graph import IR_VERSION, ML_OPSET, OPSET


def section(readme: str, heading: str) -> str:
    start = readme.index(f"\n{heading}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start:end]


@pytest.mark.xdist_group("examples")
def test_readme_example_runs_on_an_exported_penguins_model(tools, repo, example_run, tmp_path):
    text = section((repo / "README.md").read_text(), "## Export and serve")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert tools.nntrain("export", example_run("penguins.yaml"), "-o", tmp_path / "penguins.onnx").returncode == 0
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    labels = re.findall(r"'(\w+)'", result.stdout.split("]")[0])
    assert len(labels) == 2 and set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}, result.stdout

    model = onnx.load(tmp_path / "penguins.onnx")
    assert f"**opset {OPSET}** and **IR version {IR_VERSION}**" in text and f"`ai.onnx.ml` opset {ML_OPSET}" in text
    assert model.ir_version == IR_VERSION
    assert {(o.domain, o.version) for o in model.opset_import} == {("", OPSET), ("ai.onnx.ml", ML_OPSET)}
    kinds = {i.name: onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type).kind for i in model.graph.input}
    assert kinds == {"island": "O", "sex": "O", "bill_length_mm": "f", "bill_depth_mm": "f",
                     "flipper_length_mm": "f", "body_mass_g": "f", "year": "f"}
    shapes = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert set(map(tuple, shapes.values())) == {("N", 1)}
    assert [o.name for o in model.graph.output] == ["prediction", "probabilities"]
