"""What a checkpoint holds, and how a model and its optimizer are rebuilt from one.

Arrays are named `params/<layer>.<name>`, `buffers/<layer>.<name>` and
`optimizer/<state>/<layer>.<name>`; the architecture is the list of plain layer
specs in `meta["model"]`. Anything that does not fit (a missing or extra tensor,
a wrong shape, an unknown layer type) is a CheckpointError naming it.

Layer specs written by an older nntrain are read with the meaning they had then
(`upgraded_layer_specs`), so an old checkpoint predicts what it always predicted.
"""

import re
from pathlib import Path

import numpy as np

from nntrain.errors import CheckpointError
from nntrain.nn.layers import LAYERS
from nntrain.nn.model import Model, build_model, make_model
from nntrain.optim.optimizers import Optimizer
from nntrain.train.checkpoint import declared_array, load_checkpoint


def model_meta(model: Model, layer_specs: list[dict]) -> dict:
    return {"input_shape": list(model.input_shape), "layers": layer_specs, "dtype": str(model.dtype)}


def model_arrays(model: Model, params: np.ndarray | None = None, buffers: dict | None = None) -> dict:
    """The model's parameters (or the given flat copy of them) and buffers, by checkpoint name."""
    flat = model.flat_params if params is None else params
    arrays = {f"params/{name}": view for name, view in split_flat(model, flat).items()}
    arrays.update({f"buffers/{name}": value for name, value in (buffers or model.buffers).items()})
    return arrays


def optimizer_arrays(model: Model, optimizer: Optimizer) -> dict:
    return {f"optimizer/{state}/{name}": view
            for state, flat in optimizer.state.items() for name, view in split_flat(model, flat).items()}


def split_flat(model: Model, flat: np.ndarray) -> dict[str, np.ndarray]:
    """Views of a flat parameter-sized array, one per named parameter."""
    views, start = {}, 0
    for name, param in model.params.items():
        views[name] = flat[start:start + param.size].reshape(param.shape)
        start += param.size
    return views


def upgraded_layer_specs(layers: list[dict], written_by, path: Path) -> list[dict]:
    """Layer specs as this nntrain reads them, for a checkpoint whose meta says `"nntrain": written_by`.

    Before 0.2.0, `gelu` was the tanh approximation; it is now `gelu_tanh` (`gelu` is the exact form).
    """
    if _version(written_by, path) >= (0, 2):
        return layers
    return [{**spec, "activation": "gelu_tanh"} if spec.get("activation") == "gelu" else spec for spec in layers]


def _version(text, path: Path) -> tuple[int, ...]:
    """(major, minor) of a version string; a checkpoint without one predates the field (0.0)."""
    if text is None:
        return (0, 0)
    match = re.match(r"(\d+)\.(\d+)", text) if isinstance(text, str) else None
    if not match:
        raise CheckpointError(f"{path} is damaged: unreadable nntrain version {text!r} in meta.json")
    return int(match[1]), int(match[2])


def load_model_checkpoint(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a checkpoint of a model, refusing arrays the model does not have before reading any of them."""
    return load_checkpoint(path, check_meta=lambda meta: check_declared_arrays(meta, path))


def check_declared_arrays(meta: dict, path: Path) -> None:
    """Every array meta.json declares must belong to the model it describes, with that shape and dtype.

    Checked on the plan, before an array is read or a parameter allocated, so a crafted checkpoint
    cannot make loading hold more memory than the real model's arrays.
    """
    model = _planned_model(meta, path)
    dtype = np.dtype(meta["model"]["dtype"])
    params = {f"{name}.{key}": (shape, dtype) for name, layer in zip(model.names, model.layers)
              for key, shape in layer.param_shapes.items()}
    buffers = {f"{name}.{key}": (shape, dtype) for name, layer in zip(model.names, model.layers)
               for key, shape in layer.buffer_shapes.items()}
    declared = {name: declared_array(info, path, name) for name, info in meta["arrays"].items()}
    _check_fit(params, declared, "params", path)
    _check_fit(buffers, declared, "buffers", path)
    states = {name.split("/")[1] for name in declared if name.startswith("optimizer/") and name.count("/") >= 2}
    for state in sorted(states):
        prefix = f"optimizer/{state}"
        stored = {name[len(prefix) + 1:] for name in declared if name.startswith(prefix + "/")}
        _check_fit({name: params[name] for name in stored if name in params}, declared, prefix, path)
    known = ("params/", "buffers/", *(f"optimizer/{state}/" for state in states))
    stray = sorted(name for name in declared if not name.startswith(known))
    if stray:
        raise CheckpointError(f"{path} does not fit the model: unexpected {', '.join(stray)}")


def _model_spec(meta: dict, path: Path) -> tuple[list[dict], tuple[int, ...], str]:
    """The layer specs (as this nntrain reads them), input shape and dtype a checkpoint describes."""
    try:
        spec = meta["model"]
        layers, input_shape, dtype = spec["layers"], tuple(spec["input_shape"]), spec["dtype"]
    except (KeyError, TypeError):
        raise CheckpointError(f"{path} is damaged: it does not describe a model") from None
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("type") not in LAYERS:
            kind = layer.get("type") if isinstance(layer, dict) else layer
            raise CheckpointError(f"{path}: unknown layer type {kind!r}; it was not written by this nntrain")
    if dtype not in ("float32", "float64"):
        raise CheckpointError(f"{path}: unsupported dtype {dtype!r}")
    return upgraded_layer_specs(layers, meta.get("nntrain"), path), input_shape, dtype


def _planned_model(meta: dict, path: Path) -> Model:
    layers, input_shape, _ = _model_spec(meta, path)
    try:
        model = make_model(layers)
        model.plan(input_shape)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the model it describes cannot be built ({exc})") from None
    return model


def build_saved_model(meta: dict, arrays: dict, path: Path, noise_rng=None) -> Model:
    """Rebuild the model described by a checkpoint and load its weights."""
    layers, input_shape, dtype = _model_spec(meta, path)
    try:
        model = build_model(layers, input_shape, dtype, np.random.default_rng(0), noise_rng)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the model it describes cannot be built ({exc})") from None
    load_arrays(split_flat(model, model.flat_params), arrays, "params", path)
    load_arrays(model.buffers, arrays, "buffers", path)
    return model


def load_optimizer(model: Model, optimizer: Optimizer, arrays: dict, path: Path) -> None:
    for state, flat in optimizer.state.items():
        load_arrays(split_flat(model, flat), arrays, f"optimizer/{state}", path)


def load_arrays(targets: dict[str, np.ndarray], arrays: dict, prefix: str, path: Path) -> None:
    """Copy `prefix/<name>` arrays into `targets`, refusing anything missing, extra or misshapen."""
    _check_fit({name: (target.shape, target.dtype) for name, target in targets.items()},
               {name: (value.shape, value.dtype) for name, value in arrays.items()}, prefix, path)
    for name, target in targets.items():
        target[...] = arrays[f"{prefix}/{name}"]


def _check_fit(expected: dict[str, tuple], stored: dict[str, tuple], prefix: str, path: Path) -> None:
    """`stored` (full name -> (shape, dtype)) must hold exactly the `expected` names under `prefix`, alike."""
    names = {name[len(prefix) + 1:] for name in stored if name.startswith(prefix + "/")}
    missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
                   ([f"unexpected {', '.join(extra)}"] if extra else [])
        raise CheckpointError(f"{path} does not fit the model: {prefix} {'; '.join(problems)}")
    for name, (shape, dtype) in expected.items():
        stored_shape, stored_dtype = stored[f"{prefix}/{name}"]
        if tuple(stored_shape) != tuple(shape):
            raise CheckpointError(f"{path} does not fit the model: {prefix}/{name} has shape {tuple(stored_shape)}, "
                                  f"expected {tuple(shape)}")
        if not np.can_cast(stored_dtype, dtype, casting="same_kind"):
            raise CheckpointError(f"{path}: {prefix}/{name} has dtype {stored_dtype}, expected {dtype}")
