"""Config keys' descriptions come from the schema's attribute docstrings, read only when the docs ask for them."""

from pydantic import BaseModel, ConfigDict, Field

from nntrain.config.descriptions import descriptions
from nntrain.config.fields import sections
from nntrain.config.schema import Training
from nntrain.sweep.schema import Sweep


class Base(BaseModel):
    a: int = 0
    """The base's a."""
    b: int = 0
    """The base's b."""


class Child(Base):
    b: int = 1
    c: int = 0
    """The child's
       own c."""
    d: int = Field(0, description="Given to Field.")
    e: int = 0


class PydanticBase(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    a: int = 0
    """The base's a."""
    b: int = 0
    """The base's b."""


class PydanticChild(PydanticBase):
    b: int = 1
    c: int = 0
    """The child's
       own c."""
    d: int = Field(0, description="Given to Field.")
    e: int = 0


def test_descriptions_read_attribute_docstrings_as_pydantic_does():
    expected = {"a": "The base's a.", "c": "The child's\nown c.", "d": "Given to Field."}
    assert descriptions(Child) == expected
    assert {name: f.description for name, f in PydanticChild.model_fields.items() if f.description} == expected


def test_schema_models_are_built_without_reading_their_docstrings():
    """Building the models with pydantic's `use_attribute_docstrings` costs every config command a third of the
    schema's build time; the descriptions are read when the docs ask instead."""
    fields = [field for s in sections() + sections(Sweep) for field in s.model.model_fields.values()]
    assert fields and all(field.description is None for field in fields)
    assert descriptions(Training)["epochs"] == "Maximum number of passes over the training rows."
