"""One ONNX model from a saved run: its inputs, the fitted preparation, the network and the outputs.

Inputs are the raw feature columns (one [N, 1] tensor each, named after the column: float in the
model's dtype for numbers, string for text), or for image models one `image` tensor, uint8 NHWC,
at the model's size and colour. Pixels are scaled to 0..1 and standardised in the graph.
"""

import numpy as np

from nntrain.errors import ConfigError
from nntrain.export.graph import Graph
from nntrain.export.layers import network_nodes
from nntrain.export.outputs import TASK_OUTPUTS
from nntrain.export.pipeline import Column, missing_text, pipeline_nodes
from nntrain.run.saved import SavedRun

RESERVED = ("prediction", "probabilities")  # the output names


def build_model(saved: SavedRun, onnx) -> tuple[object, list[str]]:
    """The checked ModelProto of a saved run, and notes on what was left out by design."""
    element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(saved.model.dtype))
    graph = Graph(onnx)
    try:
        if saved.images:
            features, notes = _image_inputs(graph, saved, element, onnx), []
        else:
            features, notes = _table_inputs(graph, saved, element, onnx)
        logits = network_nodes(graph, features, saved.model)
        TASK_OUTPUTS[saved.target["task"]](graph, logits, saved.target, saved.loss.output_activation, element, onnx)
    except ValueError as exc:  # a name used twice
        raise ConfigError(f"export: {exc}; rename the column") from None
    return graph.model(f"nntrain model from {saved.path}"), notes


def input_kinds(data: dict) -> dict[str, bool]:
    """Each input column, and whether the model reads it as text (else as numbers)."""
    numeric = set(data.get("numeric_inputs", ()))
    for state in data["pipeline"]["states"]:
        numeric |= {name for name, kind in state.get("kinds", {}).items() if kind == "numeric"}
    return {name: name not in numeric for name in data["input_columns"]}


def _table_inputs(graph: Graph, saved: SavedRun, element: int, onnx) -> tuple[str, list[str]]:
    reserved = [name for name in saved.data["input_columns"] if name in RESERVED]
    if reserved:
        raise ConfigError(f"export: input column {reserved[0]!r} has the name of an output of the model; "
                          "rename the column and train again")
    columns = {}
    for name, text in input_kinds(saved.data).items():
        if text:
            columns[name] = Column(graph.input(name, onnx.TensorProto.STRING, ["N", 1]), text=True,
                                   values=missing_text())
        else:
            raw = graph.input(name, element, ["N", 1])
            columns[name] = Column(graph.add("Cast", [raw], to=onnx.TensorProto.DOUBLE))
    features, notes = pipeline_nodes(graph, columns, saved.data, onnx)
    return graph.add("Cast", [features], to=element), notes


def _image_inputs(graph: Graph, saved: SavedRun, element: int, onnx) -> str:
    """uint8 pixels to what `nntrain.data.images` makes of them: x / 255 in float32, then (x − mean)/std."""
    image = saved.data["image"]
    channels = 1 if image["color"] == "grayscale" else 3
    pixels = graph.input("image", onnx.TensorProto.UINT8, ["N", *image["size"], channels])
    x = graph.add("Div", [graph.add("Cast", [pixels], to=onnx.TensorProto.FLOAT),
                          graph.constant(255, "scale", np.float32)])
    x = graph.add("Cast", [x], to=element)
    dtype = saved.model.dtype
    if image.get("mean") is not None:
        x = graph.add("Div", [graph.add("Sub", [x, graph.constant(image["mean"], "mean", dtype)]),
                              graph.constant(image["std"], "std", dtype)])
    return x
