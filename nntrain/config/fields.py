"""Walk the config schema: the sections, keys and types that docs, error hints and `--set` are built from."""

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from nntrain.config.schema import Config

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Section:
    """One config model found at `path` (`[]` marks list items, `<column>` mapping values), e.g. `model.layers[]`."""

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


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _noun(annotation) -> str | None:
    """What an Annotated type is called in the docs, e.g. `column` for `Annotated[str, "column"]`."""
    if get_origin(annotation) is Annotated:
        return next((m for m in get_args(annotation)[1:] if isinstance(m, str)), None)
    return None


def _nested(annotation) -> list[tuple[str, type[BaseModel]]]:
    """Models reachable from an annotation, with the path suffix that leads to them ('', '[]' or '.<column>')."""
    found = []
    for member in _union_members(annotation):
        if get_origin(member) is list:
            found += [("[]" + suffix, model) for suffix, model in _nested(get_args(member)[0])]
        elif get_origin(member) is dict:
            key, value = get_args(member)
            found += [(f".<{_noun(key) or 'key'}>" + suffix, model) for suffix, model in _nested(value)]
        elif _is_model(member):
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
def key_paths(root: type[BaseModel] = Config) -> frozenset[str]:
    """Every key a user can write, as generic paths like `model.layers[].units`."""
    return frozenset(f"{s.path}.{name}" if s.path else name for s in sections(root) for name in s.model.model_fields)


# ---------------------------------------------------------------- key paths in raw config data

def field_type(field: FieldInfo):
    """A field's annotation with its constraints, as one type that pydantic can validate on its own."""
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def chosen_model(annotation, value) -> type[BaseModel] | None:
    """The model a raw value is read as: the union member its `type` names (or the name itself, for the
    `loss: mse` shorthand), or the member whose `type` has a default when none is written."""
    models = [m for m in _union_members(annotation) if _is_model(m)]
    if len(models) <= 1:
        return models[0] if models else None
    tag = value if isinstance(value, str) else value.get("type") if isinstance(value, dict) else None
    if tag is None:
        defaults = [m for m in models if isinstance(m.model_fields["type"].default, str)]
        return defaults[0] if len(defaults) == 1 else None
    return next((m for m in models if type_name(m) == tag), None)


def _step(annotation, part: str | int, value):
    """The type and raw value one key (or list index) below `annotation`, or (None, None) if the schema has none."""
    members = _union_members(annotation)
    lists = [get_args(m)[0] for m in members if get_origin(m) is list]
    if isinstance(part, int):
        if not lists:
            return None, None
        return lists[0], value[part] if isinstance(value, list) and part < len(value) else None
    child = value.get(part) if isinstance(value, dict) else None
    model = chosen_model(annotation, value)
    if model is not None:
        field = model.model_fields.get(part)
        return (field_type(field), child) if field is not None else (None, None)
    mappings = [get_args(m)[1] for m in members if get_origin(m) is dict]
    if mappings:
        return mappings[0], child
    if lists:  # one item written as a mapping, as `stopping: {patience: 3}`
        return _step(lists[0], part, value)
    return None, None


def _walk(path: KeyPath, data: dict, root: type[BaseModel] = Config):
    annotation, value = root, data
    for part in path:
        annotation, value = _step(annotation, part, value)
        if annotation is None:
            break
    return annotation, value


def type_at(path: KeyPath, data: dict, root: type[BaseModel] = Config):
    """The schema type of the value at `path` in raw config data, tagged unions chosen by `type`; None if unknown."""
    return _walk(path, data, root)[0]


def with_list_indexes(path: KeyPath, data: dict) -> KeyPath:
    """The key path with each all-digit part that stands where the schema has a list read as an index:
    `model.layers.0.units` is `model.layers[0].units` (a digit key of a mapping, such as a class name, stays text)."""
    fixed: list[str | int] = []
    for part in path:
        if isinstance(part, str) and part.isdigit() and _is_list(type_at(tuple(fixed), data)):
            part = int(part)
        fixed.append(part)
    return tuple(fixed)


def _is_list(annotation) -> bool:
    return annotation is not None and any(get_origin(m) is list for m in _union_members(annotation))


def model_at(path: KeyPath, data: dict, root: type[BaseModel] = Config) -> type[BaseModel] | None:
    """The config model the mapping at `path` in raw config data is read as, if it is one."""
    annotation, value = _walk(path, data, root)
    if annotation is None:
        return None
    lists = [get_args(m)[0] for m in _union_members(annotation) if get_origin(m) is list]
    if lists and isinstance(value, dict):  # one item written as a mapping
        annotation = lists[0]
    return chosen_model(annotation, value)


def accepts_text(annotation) -> bool:
    """Whether a type takes strings (or some strings: a choice of names), so `--set` text can be kept as written."""
    for member in _union_members(annotation):
        if member is str or (get_origin(member) is Literal and any(isinstance(v, str) for v in get_args(member))):
            return True
    return False


# ---------------------------------------------------------------- labels for the reference

def describe_type(field: FieldInfo) -> str:
    """A short human label for a field's type and constraints, e.g. 'integer > 0'."""
    return _label(field.annotation, list(field.metadata))


def _label(annotation, metadata) -> str:
    noun = next((item for item in metadata if isinstance(item, str)), None)
    if noun:  # pydantic moves a field's own Annotated metadata, such as its noun, out of the annotation
        return noun
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        noun = _noun(annotation)
        return noun if noun else _label(args[0], metadata + list(args[1:]))
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [_label(arg, []) for arg in get_args(annotation) if arg is not type(None)]
        nullable = type(None) in get_args(annotation)
        return " or ".join(members) + (" or null" if nullable else "")
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin is list:
        items = _items(get_args(annotation)[0])
        return f"pair of {items}" if _fixed_length(metadata) == 2 else f"list of {items}"
    if origin is tuple:
        items = list(dict.fromkeys(_items(arg) for arg in get_args(annotation)))
        return f"pair of {items[0]}" if len(get_args(annotation)) == 2 and len(items) == 1 else \
            "list of " + ", ".join(items)
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping of {_noun(key) or _label(key, [])} → {_label(value, [])}"
    if _is_model(annotation):
        return "mapping" if type_name(annotation) is None else f"`{type_name(annotation)}`"
    base = {int: "integer", float: "number", str: "string", bool: "true/false"}.get(annotation, str(annotation))
    return base + _constraints(metadata)


def _items(annotation) -> str:
    """The label of list items, in the plural: 'integers > 0', 'categories', 'strings or numbers'."""
    if _noun(annotation):
        noun = _noun(annotation)
        return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    if get_origin(_strip(annotation)) in (Union, types.UnionType):
        return " or ".join(_items(member) for member in get_args(_strip(annotation)))
    return _plural(_label(annotation, []))


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
