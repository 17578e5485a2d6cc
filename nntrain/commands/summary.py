"""`nntrain summary`: each layer's output shape and parameter count, from a config or a trained run."""

import json
import sys
from pathlib import Path

from nntrain.commands.display import Display, Table
from nntrain.config import load_config
from nntrain.nn.layers import LAYERS
from nntrain.nn.model import Model
from nntrain.run.build import build
from nntrain.run.saved import open_run

_KIND = {cls: name for name, cls in LAYERS.items()}


def summary(source: str, display: Display, overrides: list[str] = (), as_json: bool = False) -> dict:
    location = Path(source)
    if location.is_dir() or location.suffix == ".npz":
        model = open_run(source).model
    else:
        config, _ = load_config(source, list(overrides))
        model = build(config).model
    table = describe(model)
    if as_json:
        sys.stdout.write(json.dumps(table) + "\n")
    else:
        show_summary(table, display)
    return table


def describe(model: Model) -> dict:
    """Layers with their kind, output shape and parameter count, and the totals."""
    layers = []
    for name, layer, shape in zip(model.names, model.layers, model.shapes):
        kind = _KIND[type(layer)]
        activation = getattr(layer, "activation_name", None)
        layers.append({"name": name, "type": kind + (f" ({activation})" if activation not in (None, "linear") else ""),
                       "output_shape": list(shape), "parameters": sum(p.size for p in layer.params.values())})
    buffers = sum(value.size for value in model.buffers.values())
    return {"input_shape": list(model.input_shape), "layers": layers,
            "trainable_parameters": model.parameter_count(), "non_trainable_parameters": buffers}


def show_summary(table: dict, display: Display) -> None:
    view = Table(["layer", "type", "output shape", "parameters"], right=(3,), footer=1)
    view.add("input", "", _shape(table["input_shape"]), "")
    for layer in table["layers"]:
        view.add(layer["name"], layer["type"], _shape(layer["output_shape"]), f"{layer['parameters']:,}")
    view.add("total", "", "", f"{table['trainable_parameters']:,}")
    display.result(view)
    if table["non_trainable_parameters"]:
        display.result_text(f"plus {table['non_trainable_parameters']:,} non-trainable values "
                            "(batchnorm running statistics)")


def _shape(shape: list[int]) -> str:
    return " × ".join(["batch", *map(str, shape)])
