"""The JSON Schema that editors check configs with refuses what `nntrain` refuses, with documented exceptions."""

import json
import re

import jsonschema
import pytest

from nntrain.config.loading import validate_config
from nntrain.train.stopping import DURATION, parse_duration
from nntrain.errors import ConfigError

BASE = {"data": {"train": "x.csv", "target": "y"}}


@pytest.fixture(scope="module")
def validator(repo):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "nntrain", "schema"], capture_output=True, text=True, cwd=repo,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _config(**sections) -> dict:
    data = {**BASE["data"], **sections.pop("data", {})}
    return {"data": data, **sections}


BAD = {
    "float seed": _config(seed=3.5),
    "negative seed": _config(seed=-1),
    "boolean seed": _config(seed=True),
    "quoted epochs": _config(training={"epochs": "10"}),
    "zero epochs": _config(training={"epochs": 0}),
    "float units": _config(model={"layers": [{"type": "dense", "units": 4.5}]}),
    "unknown layer key": _config(model={"layers": [{"type": "dense", "units": 4, "rate": 0.5}]}),
    "bad duration": _config(training={"stopping": [{"type": "max_time", "limit": "10x"}]}),
    "empty duration": _config(training={"stopping": {"type": "max_time", "limit": " "}}),
    "units out of order": _config(training={"stopping": {"type": "max_time", "limit": "30m1h"}}),
    "range of three": _config(data={"pipeline": [{"type": "normalize", "method": "minmax", "range": [0, 1, 2]}]}),
    "zero gamma": _config(optimizer={"schedule": {"type": "step", "gamma": 0}}),
    "zero class weight": _config(training={"class_weight": {"a": 0}}),
    "kernel of three": _config(model={"layers": [{"type": "conv2d", "filters": 2, "kernel": [3, 3, 3]}]}),
    "unknown activation": _config(model={"layers": [{"type": "dense", "units": 2, "activation": "swish"}]}),
    "quoted rate": _config(optimizer={"lr": "0.01"}),
}

# What draft-07 cannot say, so an editor accepts it and `nntrain check` does not. Each case is stated in the
# key's description (or, for integers, in the README's reference intro).
SCHEMA_CANNOT_SAY = {
    # JSON has one number type: 5.0 == 5, and yaml-language-server reads 5.0 as an integer (Number.isInteger).
    "integral float epochs": _config(training={"epochs": 5.0}),
    "integral float units": _config(model={"layers": [{"type": "dense", "units": 4.0}]}),
    "integral float seed": _config(seed=3.0),
    "exponent epochs": _config(training={"epochs": 1e2}),
    # Order within a pair, and sums or conditions across keys.
    "decreasing range": _config(data={"pipeline": [{"type": "normalize", "method": "minmax", "range": [5, 2]}]}),
    "split leaves no training rows": _config(data={"split": {"validation": 0.6, "test": 0.5}}),
    "test file beside a test fraction": _config(data={"test": "t.csv", "split": {"test": 0.1}}),
    "nesterov without momentum": _config(optimizer={"type": "sgd", "nesterov": True}),
    "alpha on relu": _config(model={"layers": [{"type": "dense", "units": 2, "activation": "relu", "alpha": 0.1}]}),
    "constant fill without value": _config(data={"pipeline": [{"type": "clean", "missing": "constant"}]}),
}


@pytest.mark.parametrize("config", BAD.values(), ids=BAD.keys())
def test_schema_and_validation_both_refuse(validator, config):
    with pytest.raises(ConfigError):
        validate_config(config, "c.yaml")
    assert not validator.is_valid(config)


@pytest.mark.parametrize("config", SCHEMA_CANNOT_SAY.values(), ids=SCHEMA_CANNOT_SAY.keys())
def test_what_draft_7_cannot_say_is_refused_by_validation(validator, config):
    with pytest.raises(ConfigError):
        validate_config(config, "c.yaml")
    assert validator.is_valid(config), "the schema now says this: move the case to BAD"


def test_descriptions_state_the_rules_the_schema_cannot(validator):
    definitions = validator.schema["$defs"]
    assert "low < high" in definitions["NormalizeStep"]["properties"]["range"]["description"]
    assert "validation + test below 1" in definitions["Split"]["description"]
    assert "0 or left out when `data.test`" in definitions["Split"]["properties"]["test"]["description"]


@pytest.mark.parametrize("text", ["90", "90s", "10m", "1h30m", "2.5h", " 1h 30m 5s ", "1h30", "0.5m",
                                  "10x", "", "h", "1.2.3", "30m1h", "1 h", "٩٠"])
def test_the_duration_pattern_is_what_parse_duration_accepts(validator, text):
    try:
        parse_duration(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(re.match(DURATION, text)) == parsed
    rule = _config(training={"stopping": {"type": "max_time", "limit": text}})
    assert validator.is_valid(rule) == parsed
