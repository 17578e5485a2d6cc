"""Walk the config schema: the sections, keys and types that docs and error hints are built from."""

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from nntrain.config.schema import Config


@dataclass(frozen=True)
class Section:
    """One config model found at `path` (`[]` marks list items), e.g. `model.layers[]` for type `dense`."""

    path: str
    model: type[BaseModel]
    type_name: str | None  # the `type:` value when the section is one member of a tagged union


def _strip(annotation):
    """Remove Annotated wrappers, returning the bare type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_members(annotation) -> list:
    """The alternatives of a (possibly nested, possibly Annotated) union, or the type itself."""
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for arg in get_args(annotation) for member in _union_members(arg)]
    return [annotation]


def _nested(annotation) -> list[tuple[str, type[BaseModel]]]:
    """Models reachable from an annotation, with the path suffix that leads to them ('' or '[]')."""
    found = []
    for member in _union_members(annotation):
        if get_origin(member) is list:
            found += [("[]" + suffix, model) for suffix, model in _nested(get_args(member)[0])]
        elif isinstance(member, type) and issubclass(member, BaseModel):
            found.append(("", member))
    return found


def type_name(model: type[BaseModel]) -> str | None:
    """The `type:` tag of a union member model, if it has one."""
    field = model.model_fields.get("type")
    if field is not None and get_origin(_strip(field.annotation)) is Literal:
        return get_args(_strip(field.annotation))[0]
    return None


@cache
def sections(model: type[BaseModel] = Config, path: str = "") -> tuple[Section, ...]:
    """Every config model in the schema, depth first, each once per path."""
    found = [Section(path, model, type_name(model))]
    for name, field in model.model_fields.items():
        child_path = f"{path}.{name}" if path else name
        for suffix, child in _nested(field.annotation):
            found += [s for s in sections(child, child_path + suffix) if s not in found]
    return tuple(found)


@cache
def key_paths() -> frozenset[str]:
    """Every key a user can write, as generic paths like `model.layers[].units`."""
    return frozenset(f"{s.path}.{name}" if s.path else name for s in sections() for name in s.model.model_fields)


def describe_type(field: FieldInfo) -> str:
    """A short human label for a field's type and constraints, e.g. 'integer > 0'."""
    return _label(field.annotation, list(field.metadata))


def _label(annotation, metadata) -> str:
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        return _label(args[0], metadata + list(args[1:]))
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [_label(arg, []) for arg in get_args(annotation) if arg is not type(None)]
        nullable = type(None) in get_args(annotation)
        return " or ".join(members) + (" or null" if nullable else "")
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin is list:
        items = _plural(_label(get_args(annotation)[0], []))
        return f"pair of {items}" if _fixed_length(metadata) == 2 else f"list of {items}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping" if type_name(annotation) is None else f"`{type_name(annotation)}`"
    base = {int: "integer", float: "number", str: "string", bool: "true/false"}.get(annotation, str(annotation))
    return base + _constraints(metadata)


def _plural(label: str) -> str:
    if label.startswith("`"):
        return label
    noun, space, constraint = label.partition(" ")
    plural = {"string": "strings", "integer": "integers", "number": "numbers", "mapping": "mappings"}.get(noun, noun)
    return plural + space + constraint


def _fixed_length(metadata) -> int | None:
    """The length a list must have, if its minimum and maximum length agree."""
    flat = [m for item in metadata for m in (item.metadata if isinstance(item, FieldInfo) else [item])]
    low = [m.min_length for m in flat if isinstance(m, annotated_types.MinLen)]
    high = [m.max_length for m in flat if isinstance(m, annotated_types.MaxLen)]
    return low[0] if low and low == high else None


def _constraints(metadata) -> str:
    lower = upper = None
    flat = []
    for item in metadata:
        flat += item.metadata if isinstance(item, FieldInfo) else [item]
    for item in flat:
        if isinstance(item, annotated_types.Gt):
            lower = ("(", item.gt)
        elif isinstance(item, annotated_types.Ge):
            lower = ("[", item.ge)
        elif isinstance(item, annotated_types.Lt):
            upper = (")", item.lt)
        elif isinstance(item, annotated_types.Le):
            upper = ("]", item.le)
    if lower and upper:
        return f" in {lower[0]}{lower[1]}, {upper[1]}{upper[0]}"
    if lower:
        return f" {'>' if lower[0] == '(' else '≥'} {lower[1]}"
    if upper:
        return f" {'<' if upper[0] == ')' else '≤'} {upper[1]}"
    return ""
