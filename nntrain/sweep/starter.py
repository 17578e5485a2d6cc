"""The sweep file `nntrain init --sweep` writes beside a starter config: a default space that suits its data.

It tunes what matters first for a small network: the learning rate, the width and depth of
the hidden layers, dropout, weight decay (an L2 penalty) and the batch size, over ranges wide
enough for a stranger's data and with batch sizes the training split can fill.
"""

import json

import yaml

from nntrain.sweep.file import sweep_name

BATCH_SIZES = (16, 32, 64, 128, 256)
TRAINING_SHARE = 0.7  # what the starter configs leave for training after validation and test
TRIALS = 30


def starter_sweep(config_text: str, base: str, sweep_file: str, rows: int) -> str:
    """A commented sweep file over the starter config `config_text` (written to `base`) for data of `rows` rows."""
    layers = yaml.safe_load(config_text)["model"]["layers"]
    name = sweep_name(sweep_file)
    space = [_line("optimizer.lr", {"type": "float", "low": 1.0e-4, "high": 3.0e-2, "log": True},
                   "the learning rate, on a log scale")]
    if [layer["type"] for layer in layers[:2]] == ["dense", "dropout"]:  # a table's starter network
        space += _depths(layers)
        dense, dropout = 0, 1
    else:  # an image network: tune the dense layer after the dropout that follows `flatten`
        dropout = next(i for i, layer in enumerate(layers) if layer["type"] == "dropout")
        dense = dropout + 1
    space += [_line(f"model.layers[{dense}].units", {"type": "int", "low": 16, "high": 256, "log": True},
                    "width of the first hidden layer" if dense == 0 else "width of the dense layer"),
              _line(f"model.layers[{dropout}].rate", {"type": "float", "low": 0.0, "high": 0.5}, "dropout"),
              _line("regularization.l2", {"type": "float", "low": 1.0e-6, "high": 1.0e-2, "log": True},
                    "weight decay"),
              _line("training.batch_size", {"type": "categorical", "choices": _batch_sizes(rows)},
                    "sizes the training split can fill")]
    warmup = 10 if dense == 0 else 5
    return _HEADER.format(base=base, name=name) + "\n".join([
        f"base: {json.dumps(base)}",
        f"trials: {TRIALS}                   # in all, across every worker (--workers N, machines sharing --storage)",
        "sampler: {type: tpe, seed: 0}   # the seed fixes each trial's draws and the seed its run trains with",
        f"pruner: {{type: median, startup_trials: 5, warmup_epochs: {warmup}}}   # stop trials worse than the median",
        "space:                      # keys as --set writes them; applied to the base config in this order",
        *space]) + "\n"


def _depths(layers: list[dict]) -> list[str]:
    """One, two or three hidden layers, each choice starting with the first dense layer and its dropout."""
    first, dropout, last = layers[0], layers[1], layers[-1]
    choices = [[first, dropout], [first, dropout, last], [first, dropout, {**first}, last]]
    lines = ["  model.layers:              # depth: 1, 2 or 3 hidden layers (the keys below tune the first two)",
             "    type: categorical", "    choices:"]
    return lines + [f"      - {_flow(choice)}" for choice in choices]


def _batch_sizes(rows: int) -> list[int]:
    fits = max(32, int(rows * TRAINING_SHARE) // 4)  # at least four steps an epoch
    return [size for size in BATCH_SIZES if size <= fits]


def _line(key: str, spec: dict, comment: str) -> str:
    return f"  {key}: {_flow(spec)}   # {comment}"


def _flow(value) -> str:
    """YAML flow text, as the starter configs write their layers: {type: dense, units: 64}."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip()


_HEADER = """\
# nntrain sweep file written by `nntrain init --sweep`: tunes {base}.
# Run it with `nntrain sweep FILE` (add --workers 2 to use two cores), see the trials with
# `nntrain sweep status sweeps/{name}`, then retrain the best with `nntrain fit sweeps/{name}/best.yaml`.
# Every key, with its default: the README's sweep file reference.
"""
