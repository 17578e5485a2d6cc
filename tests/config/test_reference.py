"""The documented schema: README reference is current, and config names match the engine's registries."""

import inspect
import subprocess
import sys
from typing import get_args

import pytest

from nntrain.config import schema
from nntrain.config.descriptions import descriptions
from nntrain.config.fields import key_paths, sections
from nntrain.config.reference import END, START, render, update
from nntrain.data.pipeline import STEPS
from nntrain.nn.activations import ACTIVATIONS
from nntrain.nn.initializers import INITIALIZERS
from nntrain.nn.layers import LAYERS
from nntrain.nn.losses import LOSSES
from nntrain.optim.optimizers import OPTIMIZERS
from nntrain.optim.schedules import SCHEDULES
from nntrain.train.stopping import STOPPING_RULES


def test_readme_config_reference_is_current(repo):
    assert update(repo / "README.md", check=True), "README config reference is stale: run `make docs`"


@pytest.mark.parametrize("python_text", ["typing.", "FieldInfo", "nntrain.", "dict[", "list[", "tuple[", "<class",
                                         "Annotated"])
def test_reference_speaks_of_config_types_not_python_types(repo, python_text):
    assert python_text not in render()
    assert python_text not in (repo / "README.md").read_text(encoding="utf-8").split(START)[1].split(END)[0]


def test_reference_names_what_mappings_hold():
    text = render()
    assert "| `class_weight` | `balanced` or mapping of class name → number > 0 or null |" in text
    assert "| `columns` | mapping of column → strategy or mapping |" in text
    assert "| `categories` | mapping of column → list of categories |" in text
    assert "| `range` | pair of numbers | `[0.0, 1.0]` |" in text
    assert "| `size` | pair of integers > 0 or null |" in text
    assert "### `data.pipeline[].columns.<column>`" in text  # the per-column mapping's own keys are listed


def _type_names(path: str) -> set[str]:
    return {s.type_name for s in sections() if s.path == path}


@pytest.mark.parametrize("schema_names,registry", [
    pytest.param(lambda: _type_names("model.layers[]"), LAYERS, id="layers"),
    pytest.param(lambda: set(get_args(schema.ActivationName)), ACTIVATIONS, id="activations"),
    pytest.param(lambda: set(get_args(schema.InitializerName)), INITIALIZERS, id="initializers"),
    pytest.param(lambda: _type_names("loss"), LOSSES, id="losses"),
    pytest.param(lambda: _type_names("optimizer"), OPTIMIZERS, id="optimizers"),
    pytest.param(lambda: _type_names("optimizer.schedule"), SCHEDULES, id="schedules"),
    pytest.param(lambda: _type_names("data.pipeline[]"), STEPS, id="pipeline steps"),
    pytest.param(lambda: _type_names("training.stopping[]"), STOPPING_RULES, id="stopping rules"),
])
def test_schema_choices_are_the_registry_names(schema_names, registry):
    """A kind added to a registry but not to the schema (or the reverse) would validate and then fail, or never run."""
    assert schema_names() == set(registry)


FROM_THE_DATA = {"embedding_bag": {"tokens"}}  # arguments nntrain.run.build fills in from the prepared data


def test_layer_options_are_the_layer_constructor_arguments():
    """The builder calls LAYERS[type](**options), so each layer spec's keys must be its class's parameters."""
    for section in sections():
        if section.path == "model.layers[]":
            options = set(section.model.model_fields) - {"type"}
            arguments = set(inspect.signature(LAYERS[section.type_name]).parameters)
            assert options == arguments - FROM_THE_DATA.get(section.type_name, set()), section.type_name


def test_every_field_has_a_description():
    undocumented = [f"{s.path}.{name}" for s in sections() for name in s.model.model_fields
                    if name not in descriptions(s.model) and name != "type"]
    assert undocumented == []


def test_key_paths_cover_nested_and_union_keys():
    paths = key_paths()
    assert {"seed", "optimizer.lr", "model.layers[].units", "optimizer.schedule.warmup_epochs",
            "training.stopping[].patience", "data.split.validation"} <= paths


def test_help_does_not_import_the_engine(repo):
    """The schema's choices come from the engine's registries; `nntrain --help` must stay quick all the same."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "nntrain", "--help"], capture_output=True,
                            text=True, cwd=repo, timeout=120)
    assert result.returncode == 0 and "Usage" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert {"numpy", "pandas", "nntrain.config", "nntrain.nn"}.isdisjoint(imported)
