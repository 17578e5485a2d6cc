"""The sweep file reference in the README is current, and the schema's kinds are the engines' registry names."""

import pytest

from nntrain.config.descriptions import descriptions
from nntrain.config.fields import sections
from nntrain.sweep.engines import PRUNERS, SAMPLERS
from nntrain.sweep.reference import update_readme
from nntrain.sweep.schema import Sweep


def test_readme_sweep_reference_is_current(repo):
    assert update_readme(repo / "README.md", check=True), "README sweep reference is stale: run `make docs`"


@pytest.mark.parametrize("path,registry", [("sampler", SAMPLERS), ("pruner", PRUNERS)])
def test_schema_choices_are_the_registry_names(path, registry):
    assert {s.type_name for s in sections(Sweep) if s.path == path} == set(registry)


def test_every_sweep_key_has_a_description():
    assert [f"{s.path}.{name}" for s in sections(Sweep) for name in s.model.model_fields
            if name not in descriptions(s.model) and name != "type"] == []
