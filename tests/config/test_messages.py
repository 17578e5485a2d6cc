"""Validation messages through the real CLI: the right type named, the right key suggested, the value as written."""

import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what config errors say (see `cli_in_process`)."""
    return cli_in_process


MINIMAL = "data: {train: d.csv, target: y}\n"


def test_unknown_key_of_a_chosen_type_names_the_type_and_never_suggests_itself(cli, write):
    config = write("c.yaml", """
        data: {train: d.csv, target: y}
        optimizer: {type: adam, momentum: 0.9}
        model: {layers: [{type: dense, units: 4, rate: 0.5}, {type: flatten, units: 2}]}
        """)
    result = cli("check", config)
    assert result.returncode == 2
    assert "optimizer.momentum (line 2): unknown key: adam has no momentum (sgd has it); its keys are lr, schedule, " \
           "clip_norm, clip_value, beta1, beta2, eps" in result.stderr
    assert "model.layers[0].rate (line 3): unknown key: dense has no rate (dropout has it); its keys are " \
           "activation, alpha, init, l1, l2, units" in result.stderr
    assert "model.layers[1].units (line 3): unknown key: flatten has no units (dense has it); flatten takes no " \
           "options" in result.stderr
    assert "did you mean optimizer.momentum" not in result.stderr


def test_close_key_of_the_chosen_type_is_suggested(cli, write):
    config = write("c.yaml", MINIMAL + "optimizer: {beta_1: 0.8}\ntraining: {stopping: {patiense: 3}}\n")
    result = cli("check", config)
    assert result.returncode == 2
    assert "optimizer.beta_1 (line 2): unknown key; did you mean optimizer.beta1?" in result.stderr  # adam by default
    assert "training.stopping.patiense (line 3): unknown key; did you mean training.stopping.patience?" in result.stderr


def test_bounds_of_number_keys_are_not_called_integers(cli, write):
    config = write("c.yaml", """
        data: {train: d.csv, target: y}
        optimizer: {schedule: {type: step, gamma: 0}}
        training: {class_weight: {a: 0, b: 2}}
        """)
    result = cli("check", config)
    assert result.returncode == 2
    assert "optimizer.schedule.gamma (line 2): must be greater than 0, got 0" in result.stderr
    assert "training.class_weight.a (line 3): must be greater than 0, got 0" in result.stderr
    assert "integer" not in result.stderr
    assert "must be one of balanced" not in result.stderr  # the mapping member matched; the other's objection is noise


def test_an_integer_key_given_a_float_shows_it_as_written_and_what_to_write(cli, write):
    config = write("c.yaml", """
        data: {train: d.csv, target: y}
        seed: 3.0
        model: {layers: [{type: dense, units: 4.0}]}
        training: {epochs: 1e2, batch_size: 2.5}
        """)
    result = cli("check", config)
    assert result.returncode == 2
    assert "seed (line 2): must be an integer, got 3.0 (a whole number, written without a decimal point: 3)" \
        in result.stderr
    assert "model.layers[0].units (line 3): must be an integer, got 4.0 (a whole number, written without a " \
           "decimal point: 4)" in result.stderr
    assert "training.epochs (line 4): must be an integer, got 1e2 (YAML reads 1e2 as the float 100.0; write 100)" \
        in result.stderr
    assert "training.batch_size (line 4): must be an integer, got 2.5\n" in result.stderr
    result = cli("check", write("d.yaml", MINIMAL), "--set", "training.epochs=5.0")
    assert "training.epochs (from --set): must be an integer, got 5.0 (a whole number" in result.stderr
