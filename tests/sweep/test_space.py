"""The space is checked against the base config before any training: key paths, and every corner a valid config."""

import pytest


@pytest.mark.parametrize("space,expected", [
    pytest.param("  optimizer.lrr: {type: float, low: 1.0e-4, high: 0.1}",
                 "space.optimizer.lrr (line 5): not a key of the base config (optimizer.lrr: unknown key; did you "
                 "mean optimizer.lr?)", id="unknown key path"),
    pytest.param("  optimizer: {type: categorical, choices: [{type: adam}, {type: sgd, nesterov: true}]}",
                 'space.optimizer (line 5): the choice {"type": "sgd", "nesterov": true} gives an invalid config: '
                 "optimizer: nesterov needs momentum > 0; set momentum, e.g. 0.9", id="invalid choice"),
    pytest.param("  model.layers: {type: categorical, choices: [[{type: dense, units: 4}, {type: dropout, rate: 0.1}],"
                 " [{type: dense, units: 4}]]}\n  model.layers.1.rate: {type: float, low: 0.0, high: 0.5}",
                 'space.model.layers (line 5): the choice [{"type": "dense", "units": 4}] gives an invalid config: '
                 "model.layers[1] does not exist (the list has 1 item) (for space.model.layers.1.rate)",
                 id="a choice that removes another key"),
])
def test_a_space_with_an_invalid_point_exits_2_naming_the_key_before_any_training(cli, base_config, sweep_file,
                                                                                  tmp_path, space, expected):
    sweep = sweep_file(base_config(), f"trials: 2\nspace:\n{space}\n")
    result = cli("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"nntrain: error: invalid sweep file {sweep}:\n  {expected}\n"
    assert not (tmp_path / "sweep").exists()
