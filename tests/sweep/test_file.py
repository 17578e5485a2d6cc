"""Sweep files are read as strictly as configs: unknown keys with did-you-mean, bad values, each with its line."""

import pytest

from nntrain.sweep.file import sweep_name


@pytest.mark.parametrize("body,expected", [
    pytest.param("sampler: {type: tpee}\nspace:\n  optimizer.lr: {type: float, low: 1.0e-4, high: 0.1}\n",
                 "sampler (line 3): unknown sampler 'tpee' (did you mean 'tpe'?); choose from: tpe, random, grid, "
                 "cmaes", id="unknown sampler"),
    pytest.param("space:\n  optimizer.lr: {type: float, low: 0.1, high: 0.01, log: true}\n",
                 "space.optimizer.lr (line 4): low must be at most high, got low 0.1 > high 0.01", id="low > high"),
    pytest.param("trails: 5\nspace:\n  optimizer.lr: {type: float, low: 1.0e-4, high: 0.1}\n",
                 "trails (line 3): unknown key; did you mean trials?", id="unknown key"),
])
def test_a_bad_sweep_file_exits_2_naming_the_key_and_line_before_any_training(cli, base_config, sweep_file, tmp_path,
                                                                              body, expected):
    sweep = sweep_file(base_config(), body)
    result = cli("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"nntrain: error: invalid sweep file {sweep}:\n  {expected}\n"
    assert not (tmp_path / "sweep").exists()


def test_the_sweep_name_drops_yaml_and_sweep_suffixes():
    assert [sweep_name(p) for p in ("a/iris.sweep.yaml", "iris.yml", "my.data.yaml")] == ["iris", "iris", "my.data"]
