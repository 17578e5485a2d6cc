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
from nntrain.nn.model import Model, build_model
from nntrain.optim.optimizers import Optimizer


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


def build_saved_model(meta: dict, arrays: dict, path: Path, noise_rng=None) -> Model:
    """Rebuild the model described by a checkpoint and load its weights."""
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
    layers = upgraded_layer_specs(layers, meta.get("nntrain"), path)
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
    stored = {name[len(prefix) + 1:] for name in arrays if name.startswith(prefix + "/")}
    missing, extra = sorted(set(targets) - stored), sorted(stored - set(targets))
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
                   ([f"unexpected {', '.join(extra)}"] if extra else [])
        raise CheckpointError(f"{path} does not fit the model: {prefix} {'; '.join(problems)}")
    for name, target in targets.items():
        value = arrays[f"{prefix}/{name}"]
        if value.shape != target.shape:
            raise CheckpointError(f"{path} does not fit the model: {prefix}/{name} has shape {value.shape}, "
                                  f"expected {target.shape}")
        if not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
            raise CheckpointError(f"{path}: {prefix}/{name} has dtype {value.dtype}, expected {target.dtype}")
        target[...] = value
