"""Config loading: strict YAML, overrides, and one message per problem naming its key."""

import os
import shlex
import subprocess

import pytest
import yaml

from nntrain.config import load_config
from nntrain.config.loading import apply_override
from nntrain.config.overrides import parse_key_path
from nntrain.errors import ConfigError

MINIMAL = "data: {train: data.csv, target: y}\n"


def error_of(path, overrides=()):
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), list(overrides))
    return str(caught.value)


def test_minimal_config_gets_documented_defaults(write):
    config, _ = load_config(str(write("c.yaml", MINIMAL)))
    assert config.seed == 0
    assert config.optimizer.type == "adam" and config.optimizer.lr == 0.001
    assert config.training.epochs == 100 and config.training.batch_size == 32
    assert config.data.split.validation == 0.2 and config.data.split.test == 0.1
    assert config.engine.dtype == "float32"


def test_every_problem_is_reported_with_its_key_and_line(write):
    path = write("bad.yaml", """
        data:
          train: d.csv
          target: y
        model:
          layers:
            - {type: dense, units: 4}
            - {type: dense, units: 4}
            - {type: dense, units: -3}
            - {type: dropout, rate: 1.5}
        optimizer: {type: adam, lr: -0.1}
        training:
          epochs: ten
          batch_size: 0
        """)
    message = error_of(path)
    assert "model.layers[2].units (line 8): must be a positive integer, got -3" in message
    assert "model.layers[3].rate (line 9): must be less than 1" in message
    assert "optimizer.lr (line 10): must be greater than 0" in message
    assert "training.epochs (line 12): must be an integer, got 'ten'" in message
    assert "training.batch_size (line 13): must be a positive integer, got 0" in message


def test_unknown_key_suggests_the_close_sibling(write):
    message = error_of(write("c.yaml", MINIMAL + "optimizer: {type: adam, lrr: 0.01}\n"))
    assert "optimizer.lrr (line 2): unknown key; did you mean optimizer.lr?" in message


def test_key_at_the_wrong_level_suggests_where_it_belongs(write):
    message = error_of(write("c.yaml", MINIMAL + "lr: 0.01\n"))
    assert "lr (line 2): unknown key; did you mean optimizer.lr?" in message


def test_unknown_type_names_the_kind_and_suggests(write):
    message = error_of(write("c.yaml", MINIMAL + "model: {layers: [{type: dens, units: 2}]}\n"))
    assert "model.layers[0] (line 2): unknown layer type 'dens' (did you mean 'dense'?)" in message
    message = error_of(write("c.yaml", MINIMAL + "loss: crossentropy\n"))
    assert "unknown loss 'crossentropy' (did you mean 'cross_entropy'?)" in message


def test_yaml_exponent_without_dot_is_a_float(write):
    config, _ = load_config(str(write("c.yaml", MINIMAL + "optimizer: {type: sgd, lr: 1e-3}\n")))
    assert isinstance(config.optimizer.lr, float) and config.optimizer.lr == 0.001


def test_cross_field_checks(write):
    message = error_of(write("c.yaml", """
        data: {train: d.csv, target: y, split: {validation: 0.6, test: 0.5}}
        optimizer: {type: sgd, nesterov: true}
        """))
    assert "data.split (line 1): validation + test must be below 1, got 0.6 + 0.5" in message
    assert "optimizer (line 2): nesterov needs momentum > 0" in message


def test_missing_required_keys(write):
    message = error_of(write("c.yaml", "data: {target: y}\nseed: 1\n"))
    assert "data.train (line 1): required key is missing" in message


def test_union_field_explains_both_accepted_types(write):
    message = error_of(write("c.yaml", "data: {train: d.csv, target: 5}\n"))
    assert "data.target (line 1): must be a string or a list, got 5" in message


def test_duplicate_key_is_refused_naming_both_lines(write):
    message = error_of(write("c.yaml", "seed: 1\ndata: {train: d.csv, target: y}\nseed: 2\n"))
    assert "c.yaml:3:1" in message and "duplicate key 'seed' (first set on line 1)" in message


@pytest.mark.parametrize("text,where", [
    ("seed: 1\ndata:\n\ttrain: x\n", ":3:1"),
    ("seed: [1, 2\ndata: {}\n", ":2:5"),
])
def test_malformed_yaml_reports_line_and_column(write, text, where):
    message = error_of(write("c.yaml", text))
    assert f"c.yaml{where}: invalid YAML" in message


def test_python_tags_are_refused_and_never_run(write, tmp_path):
    canary = tmp_path / "canary"
    path = write("c.yaml", f"seed: !!python/object/apply:os.system ['touch {canary}']\n")
    message = error_of(path)
    assert "is not allowed: a config is plain data" in message
    assert not canary.exists()


def test_empty_file_directory_and_missing_file(write, tmp_path):
    assert "is empty" in error_of(write("empty.yaml", ""))
    assert "is a directory" in error_of(tmp_path)
    assert "config file not found" in error_of(tmp_path / "nope.yaml")
    assert "must be a mapping" in error_of(write("list.yaml", "- 1\n- 2\n"))


def test_overrides_reach_any_key(write):
    path = write("c.yaml", MINIMAL + "model: {layers: [{type: dense, units: 4}]}\nloss: huber\n")
    config, _ = load_config(str(path), ["optimizer.lr=0.05", "model.layers[0].units=16", "loss.delta=2.5",
                                        "training.stopping.patience=3", "data.target=[a, b]"])
    assert config.optimizer.lr == 0.05
    assert config.model.layers[0].units == 16
    assert config.loss.type == "huber" and config.loss.delta == 2.5
    assert config.training.stopping[0].type == "plateau" and config.training.stopping[0].patience == 3
    assert config.data.target == ["a", "b"]


def test_bad_overrides(write):
    path = write("c.yaml", MINIMAL)
    assert "expected KEY=VALUE" in error_of(path, ["optimizer.lr"])
    assert "model.layers[3] does not exist" in error_of(path, ["model.layers[3].units=2"])
    message = error_of(path, ["training.epochs=zero"])
    assert "training.epochs (from --set): must be an integer, got 'zero'" in message


def test_key_path_parsing():
    assert parse_key_path("model.layers[0].units") == ("model", "layers", 0, "units")
    assert parse_key_path("seed") == ("seed",)
    with pytest.raises(ConfigError):
        parse_key_path("model..x")
    data = {}
    apply_override(data, "a.b=1")
    assert data == {"a": {"b": 1}}


def test_image_layer_options_accept_an_integer_or_a_pair(write):
    config, _ = load_config(str(write("c.yaml", """
        data: {train: d.csv, target: y}
        model:
          layers:
            - {type: conv2d, filters: 4, kernel: [3, 5], stride: 2, padding: same, activation: relu}
            - {type: maxpool2d, size: 3, stride: [1, 2]}
            - {type: conv2d, filters: 2, kernel: 1, padding: 2}
            - {type: avgpool2d, size: [2, 1]}
            - {type: global_avgpool}
        """)))
    conv, pool, conv2, avg, _ = config.model.layers
    assert (conv.kernel, conv.stride, conv.padding, conv.init) == ([3, 5], 2, "same", None)
    assert (pool.size, pool.stride, conv2.padding, avg.stride) == (3, [1, 2], 2, None)


def test_image_layer_errors_name_every_accepted_form(write):
    path = write("c.yaml", """
        data: {train: d.csv, target: y}
        model:
          layers:
            - {type: conv2d, filters: 4, kernel: [3, 3, 3]}
            - {type: conv2d, filters: 4, kernel: 3, padding: full}
            - {type: conv2d, filters: 4, kernel: 3, padding: -1}
            - {type: maxpool2d, size: 0}
            - {type: avgpool2d, size: 2, stride: [1, 0]}
            - {type: conv2d, kernel: 3}
        """)
    message = error_of(path)
    assert "model.layers[0].kernel (line 4): must be a positive integer or a pair [height, width] of them, " \
           "got [3, 3, 3]" in message
    assert "model.layers[1].padding (line 5): must be valid, same or a number of pixels (an integer ≥ 0), " \
           "got 'full'" in message
    assert "model.layers[2].padding (line 6): must be valid, same or a number of pixels" in message
    assert "model.layers[3].size (line 7): must be a positive integer or a pair" in message
    assert "model.layers[4].stride (line 8): must be a positive integer or a pair" in message
    assert "model.layers[5].filters (line 9): required key is missing" in message


def test_an_empty_config_points_at_init(cli, write):
    result = cli("check", write("empty.yaml", "# nothing yet\n"))
    assert result.returncode == 2
    assert "empty.yaml is empty; write a starter config with `nntrain init --data FILE -o FILE`" in result.stderr
    assert "configs/" not in result.stderr


def _laughs(indent: str, levels: int = 9) -> str:
    """Nine levels of lists of ten aliases: about 600 bytes that stand for 10**9 strings."""
    lines = [f"{indent}- &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}- &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _limited(limit_bytes: int):
    def apply():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


@pytest.mark.parametrize("where", ["unknown key", "data.features"])
def test_an_alias_bomb_is_refused_naming_the_alias_within_bounded_memory(shell_command, write, where):
    head = "data: {train: d.csv, target: y}\nlaughs:\n" if where == "unknown key" else \
        "data:\n  train: d.csv\n  target: y\n  features:\n"
    config = write("bomb.yaml", head + _laughs("  " if where == "unknown key" else "    "))
    assert len(config.read_bytes()) < 700
    # Address space, not time, bounds the child: before the budget it grew past 5 GB.
    result = subprocess.run([*shlex.split(shell_command), "check", str(config)], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"}, preexec_fn=_limited(1 << 30), timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    line = head.count("\n") + 5  # each *a3 stands for 11,111 values: the 9th on the &a4 line crosses 100,000
    assert f"bomb.yaml:{line}:" in result.stderr
    assert "the alias *a3 takes the config past 100,000 values once aliases are expanded" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_recursive_alias_is_refused(cli, write):
    result = cli("config", write("c.yaml", "data: &d {train: d.csv, target: y, features: [*d]}\n"))
    assert result.returncode == 2
    assert "c.yaml:1:47: the alias *d is inside the value it names" in result.stderr


def test_anchors_aliases_and_merge_keys_keep_working(cli, write):
    config = write("c.yaml", """
        data: {train: d.csv, target: y}
        model:
          layers:
            - &hidden {type: dense, units: 16, activation: relu}
            - *hidden
            - {<<: *hidden, units: 8}
        optimizer: &sgd {type: sgd, lr: 0.1}
        """)
    result = cli("config", config, "--resolved")
    assert result.returncode == 0, result.stderr
    layers = yaml.safe_load(result.stdout)["model"]["layers"]
    assert [(layer["units"], layer["activation"]) for layer in layers] == [(16, "relu"), (16, "relu"), (8, "relu")]
