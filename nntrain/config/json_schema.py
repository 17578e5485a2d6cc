"""The JSON Schema of config files, for editors: generated from the pydantic models, plus the shorthands.

pydantic describes the *validated* shape; config files may also use the shorthands the
models accept before validation (`loss: mse`, `schedule: cosine`, one stopping rule as a
mapping, `columns: {age: median}`; a plateau rule or an adam optimizer without `type` is
the models' own `type` default).
Those are added here so that an editor never flags a config that `nntrain check` accepts.
"""

import json

from pydantic import BaseModel

from nntrain.config.descriptions import descriptions
from nntrain.config.fields import sections
from nntrain.config.schema import CleanStep, Config, Training

# Draft 7, the newest draft yaml-language-server (VS Code's YAML extension and others) fully supports.
DIALECT = "http://json-schema.org/draft-07/schema#"
UNION_KEYS = ("oneOf", "discriminator")


def schema_json() -> str:
    return json.dumps(config_schema(), indent=2) + "\n"


def config_schema() -> dict:
    schema = Config.model_json_schema()
    for section in sections():
        _add_descriptions(section.model, schema)
    schema = _draft7(schema)
    schema = {"$schema": DIALECT, "title": "nntrain config", **schema}
    definitions = schema["$defs"]
    for section in sections():
        definition = definitions.get(section.model.__name__, schema)
        _add_factory_defaults(section.model, definition)
        for field in definition["properties"].values():  # pydantic drops a description equal to the model's
            if "$ref" in field and "description" not in field:
                field["description"] = definitions[field["$ref"].rsplit("/", 1)[-1]]["description"]
        tag = definition["properties"].get("type", {})
        if "const" in tag:
            tag["description"] = f"Selects this kind: `{tag['const']}`."
    properties = schema["properties"]
    properties["loss"] = _with_name_shorthand(properties["loss"])
    properties["optimizer"] = _with_name_shorthand(properties["optimizer"])
    for name, definition in definitions.items():
        if name.endswith("Optimizer"):
            definition["properties"]["schedule"] = _with_name_shorthand(definition["properties"]["schedule"])
    stopping = definitions[Training.__name__]["properties"]["stopping"]
    one_rule = stopping.pop("items")
    del stopping["type"]
    stopping["anyOf"] = [{"type": "array", "items": one_rule}, one_rule]
    clean = definitions[CleanStep.__name__]["properties"]
    clean["columns"]["additionalProperties"] = {
        "anyOf": [{"enum": clean["missing"]["enum"]}, clean["columns"]["additionalProperties"]]}
    return schema


def _draft7(node):
    """pydantic writes draft 2020-12; its only construct draft 7 lacks is `prefixItems` (fixed-length lists)."""
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _draft7(value) for key, value in node.items()}
    if "prefixItems" in node:
        node["items"] = node.pop("prefixItems")
        node["additionalItems"] = False
    return node


def _add_descriptions(model: type[BaseModel], schema: dict) -> None:
    """Each key's description where pydantic writes a field's: among the field's keywords in alphabetical order,
    and left out beside a `$ref` to a model with the same description (as pydantic leaves out repeats)."""
    definition = schema["$defs"].get(model.__name__, schema)
    for name, text in descriptions(model).items():
        field = definition["properties"][name]
        if "$ref" not in field or schema["$defs"][field["$ref"].rsplit("/", 1)[-1]].get("description") != text:
            definition["properties"][name] = dict(sorted({**field, "description": text}.items()))


def _add_factory_defaults(model: type[BaseModel], definition: dict) -> None:
    """pydantic leaves out defaults made by a factory; an editor should still show them."""
    for name, field in model.model_fields.items():
        if field.default_factory is not None and name in definition.get("properties", {}):
            value = field.default_factory()
            definition["properties"][name]["default"] = \
                value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _with_name_shorthand(prop: dict) -> dict:
    """A tagged union (possibly optional) that also accepts just the `type` name as a string."""
    alternatives = prop.get("anyOf", [prop])
    union = next(alt for alt in alternatives if "discriminator" in alt)
    others = [alt for alt in alternatives if alt is not union and alt is not prop]
    rest = {key: value for key, value in prop.items() if key not in UNION_KEYS + ("anyOf",)}
    names = {"enum": sorted(union["discriminator"]["mapping"])}
    return {**rest, "anyOf": [names, {key: union[key] for key in UNION_KEYS}, *others]}
