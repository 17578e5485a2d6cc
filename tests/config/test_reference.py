"""The documented schema: README reference is current, and config names match the engine's registries."""

import inspect
from typing import get_args

from nntrain.config import schema
from nntrain.config.fields import key_paths, sections
from nntrain.config.reference import update
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


def _type_names(path: str) -> set[str]:
    return {s.type_name for s in sections() if s.path == path}


def test_config_type_names_match_registries():
    assert _type_names("model.layers[]") == set(LAYERS)
    assert _type_names("loss") == set(LOSSES)
    assert _type_names("optimizer") == set(OPTIMIZERS)
    assert _type_names("optimizer.schedule") == set(SCHEDULES)
    assert _type_names("training.stopping[]") == set(STOPPING_RULES)
    assert _type_names("data.pipeline[]") == set(STEPS)
    assert set(get_args(schema.ActivationName)) == set(ACTIVATIONS)
    assert set(get_args(schema.InitializerName)) == set(INITIALIZERS)


def test_layer_options_are_the_layer_constructor_arguments():
    """The builder calls LAYERS[type](**options), so each layer spec's keys must be its class's parameters."""
    for section in sections():
        if section.path == "model.layers[]":
            options = set(section.model.model_fields) - {"type"}
            assert options == set(inspect.signature(LAYERS[section.type_name]).parameters), section.type_name


def test_every_field_has_a_description():
    undocumented = [f"{s.path}.{name}" for s in sections() for name, field in s.model.model_fields.items()
                    if not field.description and name != "type"]
    assert undocumented == []


def test_key_paths_cover_nested_and_union_keys():
    paths = key_paths()
    assert {"seed", "optimizer.lr", "model.layers[].units", "optimizer.schedule.warmup_epochs",
            "training.stopping[].patience", "data.split.validation"} <= paths
