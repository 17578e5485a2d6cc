"""Rebuilding a model from a checkpoint: layer specs written by an older nntrain keep their meaning."""

import pytest

from nntrain.errors import CheckpointError
from nntrain.train.saved import upgraded_layer_specs


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what old checkpoints predict and say (see `cli_in_process`)."""
    return cli_in_process


def _as_written_by(version: str):
    """What nntrain `version` wrote for today's gelu_tanh layers: `gelu`, and its own version."""
    def change(meta):
        meta["nntrain"] = version
        for spec in meta["model"]["layers"]:
            if spec.get("activation") == "gelu_tanh":
                spec["activation"] = "gelu"
    return change


def test_gelu_in_a_checkpoint_from_0_1_predicts_with_the_tanh_form(cli, blobs_config, blobs_csv, tmp_path,
                                                                 rewrite_checkpoint_meta):
    layers = "[{type: dense, units: 8, activation: gelu_tanh}, {type: activation, activation: gelu_tanh}]"
    assert cli("fit", blobs_config(epochs=3), "--set", f"model.layers={layers}").returncode == 0
    best = tmp_path / "run" / "best.npz"
    tanh = cli("predict", best, blobs_csv, "--proba")
    old = cli("predict", rewrite_checkpoint_meta(best, _as_written_by("0.1.0"), tmp_path / "old.npz"), blobs_csv,
              "--proba")
    new = cli("predict", rewrite_checkpoint_meta(best, _as_written_by("0.2.0"), tmp_path / "new.npz"), blobs_csv,
              "--proba")
    assert tanh.returncode == old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert old.stdout == tanh.stdout
    assert new.stdout != tanh.stdout  # `gelu` from 0.2.0 on is the exact form: the same weights predict otherwise


def test_upgraded_layer_specs_rename_gelu_only_before_0_2(tmp_path):
    specs = [{"type": "dense", "units": 3, "activation": "gelu"}, {"type": "activation", "activation": "relu"},
             {"type": "flatten"}]
    renamed = [{"type": "dense", "units": 3, "activation": "gelu_tanh"}, specs[1], specs[2]]
    assert upgraded_layer_specs(specs, "0.1.0", tmp_path) == renamed
    assert upgraded_layer_specs(specs, None, tmp_path) == renamed  # no version: older than the field
    assert upgraded_layer_specs(specs, "0.2.0", tmp_path) == specs
    assert upgraded_layer_specs(specs, "1.0.3", tmp_path) == specs
    with pytest.raises(CheckpointError, match=r"unreadable nntrain version 'banana'"):
        upgraded_layer_specs(specs, "banana", tmp_path)
