"""`nntrain summary`: each layer's output shape and parameter count, and the memory training and predicting
need, from a config or a trained run. Nothing is allocated, so a model too big to train is still shown."""

import json
import sys
from pathlib import Path

from nntrain.commands.display import Display, Table
from nntrain.config import load_config
from nntrain.errors import CheckpointError, ConfigError
from nntrain.nn.memory import ModelPlan, plan_model, prediction_memory
from nntrain.run.build import Blueprint, plan
from nntrain.resources import human_bytes
from nntrain.run.saved import resolve_checkpoint
from nntrain.train.checkpoint import read_checkpoint_meta
from nntrain.train.saved import upgraded_layer_specs


def summary(source: str, display: Display, overrides: list[str] = (), as_json: bool = False) -> dict:
    location = Path(source)
    if location.is_dir() or location.suffix == ".npz":
        if overrides:
            raise ConfigError(f"--set applies to a config file, not to the trained run {source}")
        table = _saved(resolve_checkpoint(source))
    else:
        config, _ = load_config(source, list(overrides))
        table = describe_blueprint(plan(config))
    if as_json:
        sys.stdout.write(json.dumps(table) + "\n")
    else:
        show_summary(table, display)
    return table


def describe_blueprint(blueprint: Blueprint) -> dict:
    """The model table of a planned run, with the memory its training and prediction need."""
    dtype = blueprint.config.engine.dtype
    return describe(blueprint.model_plan, blueprint.layer_specs,
                    {"training": blueprint.training_memory().total,
                     "prediction": prediction_memory(blueprint.model_plan, dtype).total})


def _saved(path: Path) -> dict:
    meta = read_checkpoint_meta(path)
    try:
        specs = upgraded_layer_specs(meta["model"]["layers"], meta.get("nntrain"), path)
        model_plan = plan_model(specs, tuple(meta["model"]["input_shape"]))
        dtype = meta["model"]["dtype"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is damaged: it does not describe a model ({exc})") from None
    return describe(model_plan, specs, {"prediction": prediction_memory(model_plan, dtype).total})


def describe(model_plan: ModelPlan, layer_specs: list[dict], memory: dict[str, int]) -> dict:
    """Layers with their kind, output shape and parameter count, the totals, and bytes needed by task."""
    layers = []
    for layer, spec in zip(model_plan.layers, layer_specs):
        activation = spec.get("activation")
        layers.append({"name": layer.name,
                       "type": layer.kind + (f" ({activation})" if activation not in (None, "linear") else ""),
                       "output_shape": list(layer.output_shape), "parameters": layer.parameters})
    return {"input_shape": list(model_plan.input_shape), "layers": layers,
            "trainable_parameters": model_plan.parameters, "non_trainable_parameters": model_plan.buffers,
            "memory_bytes": memory}


def show_summary(table: dict, display: Display) -> None:
    view = Table(["layer", "type", "output shape", "parameters"], right=(3,), footer=1)
    view.add("input", "", _shape(table["input_shape"]), "")
    for layer in table["layers"]:
        view.add(layer["name"], layer["type"], _shape(layer["output_shape"]), f"{layer['parameters']:,}")
    view.add("total", "", "", f"{table['trainable_parameters']:,}")
    display.result(view)
    lines = []
    if table["non_trainable_parameters"]:
        lines.append(f"plus {table['non_trainable_parameters']:,} non-trainable values (batchnorm running statistics)")
    memory = table["memory_bytes"]
    lines.append("memory: " + ", ".join(f"{task} about {human_bytes(size)}" for task, size in memory.items())
                 + " (besides the data)")
    display.result_text("\n".join(lines))


def _shape(shape: list[int]) -> str:
    return " × ".join(["batch", *map(str, shape)])
