"""`--set` through the real CLI: YAML values, text kept as written for keys that take text, errors `(from --set)`."""

import pytest
import yaml


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what --set does and says (see `cli_in_process`)."""
    return cli_in_process


MINIMAL = "data: {train: d.csv, target: y}\n"


def test_a_key_that_takes_text_gets_the_text_as_written(cli, write):
    config = write("c.yaml", MINIMAL)
    result = cli("config", config, "--set", "data.train=-", "--set", "data.target=yes", "--set", "output.dir=2024",
                 "--set", "data.test=off")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)["data"]
    assert (data["train"], data["target"], data["test"]) == ("-", "yes", "off")  # YAML reads [None], True, False
    assert yaml.safe_load(result.stdout)["output"]["dir"] == "2024"


def test_yaml_lists_numbers_mappings_and_nulls_still_work(cli, write):
    config = write("c.yaml", MINIMAL + "loss: huber\n")
    result = cli("config", config, "--resolved", "--set", "data.target=[a, b]", "--set", "optimizer.lr=1e-3",
                 "--set", "training.epochs=7", "--set", "training.class_weight={a: 2}", "--set", "loss.delta=2.5",
                 "--set", "data.features=null", "--set", "task=regression")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["data"]["target"] == ["a", "b"] and resolved["data"]["features"] is None
    assert resolved["optimizer"]["lr"] == 0.001 and resolved["training"]["epochs"] == 7
    assert resolved["training"]["class_weight"] == {"a": 2} and resolved["loss"] == {"type": "huber", "delta": 2.5}


def test_text_inside_a_set_list_that_yaml_reads_otherwise_gets_a_quoting_hint(cli, write):
    result = cli("config", write("c.yaml", MINIMAL), "--set", "data.features=[a, yes]")
    assert result.returncode == 2
    assert "data.features[1] (from --set): must be a string, got True; --set values are YAML, so quote text: " \
           """--set 'data.features=[a, "yes"]'""" in result.stderr


def test_a_choice_key_shows_the_text_that_was_given(cli, write):
    result = cli("config", write("c.yaml", MINIMAL), "--set", "task=yes")
    assert result.returncode == 2
    assert "task (from --set): must be one of auto, classification, regression, multilabel; got 'yes'" in result.stderr


def test_errors_in_set_values_are_reported_from_set_not_at_a_line_of_the_file(cli, write):
    config = write("c.yaml", """
        data: {train: d.csv, target: y}
        model:
          layers:
            - {type: dense, units: 4}
        loss:
          type: huber
          delta: 1.0
        """)
    result = cli("config", config, "--set", "loss={type: huber, delta: -1}", "--set", "model.layers=[{type: dense, units: 0}]")
    assert result.returncode == 2
    assert "loss.delta (from --set): must be greater than 0, got -1" in result.stderr
    assert "model.layers[0].units (from --set): must be a positive integer, got 0" in result.stderr
    assert "(line" not in result.stderr


def test_a_shorthand_expanded_by_set_blames_the_set(cli, write):
    config = write("c.yaml", MINIMAL + "loss: mse\n")
    result = cli("config", config, "--set", "loss.delta=2")
    assert result.returncode == 2
    assert "loss.delta (from --set): unknown key: mse has no delta (huber has it); mse takes no options" in result.stderr
    result = cli("config", config, "--set", "loss.type=hubr")
    assert "loss (from --set): unknown loss 'hubr' (did you mean 'huber'?)" in result.stderr


def test_a_check_across_keys_names_the_line_and_the_set(cli, write):
    config = write("c.yaml", MINIMAL)
    result = cli("config", config, "--set", "data.split.validation=0.95")
    assert result.returncode == 2
    assert "data.split (line 1, with --set data.split.validation): validation + test must be below 1, got 0.95 + 0.1" \
        in result.stderr
    config = write("d.yaml", "data:\n  train: d.csv\n  target: y\n  split: {test: 0.5}\n")
    result = cli("config", config, "--set", "data.split.validation=0.6")
    assert "data.split (line 4, with --set data.split.validation): validation + test must be below 1" in result.stderr


def test_text_that_is_not_yaml_is_taken_as_written_by_a_key_that_takes_text(cli, write):
    config = write("c.yaml", MINIMAL)
    result = cli("config", config, "--set", "data.train=@d.csv")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["data"]["train"] == "@d.csv"
    result = cli("config", config, "--set", "optimizer.lr=@")
    assert result.returncode == 2 and "--set optimizer.lr:1:1: invalid YAML" in result.stderr


def test_a_list_index_may_be_written_as_a_dotted_number(cli, write):
    """`model.layers.0.units` is `model.layers[0].units`, as sweep files write it; a digit class name stays a key."""
    config = write("c.yaml", MINIMAL + "model: {layers: [{type: dense, units: 4}]}\n")
    result = cli("config", config, "--set", "model.layers.0.units=16", "--set", "training.class_weight.0=2")
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load(result.stdout)
    assert written["model"]["layers"] == [{"type": "dense", "units": 16}]
    assert written["training"]["class_weight"] == {"0": 2}
