"""Validation errors as one line per problem: the key, where it was written (a line or `--set`), what to do."""

import difflib
import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from nntrain.config.fields import KeyPath, key_paths, model_at, sections, type_name
from nntrain.config.overrides import format_path, quoted
from nntrain.config.schema import Config


@dataclass
class Origins:
    """Where each key path of raw config data came from: a line of the file or a `--set`."""

    lines: dict[KeyPath, int] = field(default_factory=dict)
    texts: dict[KeyPath, str] = field(default_factory=dict)  # scalars as written, e.g. `1e2` for 100.0
    overrides: dict[KeyPath, str] = field(default_factory=dict)  # key path -> the whole `--set` assignment

    def override_of(self, path: KeyPath) -> tuple[KeyPath, str] | None:
        """The `--set` that wrote the value at `path` (itself or a mapping or list around it)."""
        return next(((p, a) for p, a in self.overrides.items() if path[:len(p)] == p), None)


def problems(exc: ValidationError, data: dict, origins: Origins, root: type[BaseModel] = Config) -> list[str]:
    """One line per problem; `root` is the schema the data was validated against (default: a config's)."""
    grouped: dict[KeyPath, list[dict]] = {}
    for error in exc.errors():
        grouped.setdefault(_display_path(error, data), []).append(error)
    # A union reports every member's objection; when one member matched the shape and found a problem
    # inside (`class_weight: {a: 0}`), the others' (`must be balanced`) are noise.
    paths = [p for p in grouped if not any(q[:len(p)] == p and len(q) > len(p) for q in grouped)]
    return [f"{format_path(path) or '(top level)'}{_where(path, grouped[path], data, origins)}: "
            f"{_message(grouped[path], path, data, origins, root)}" for path in paths]


def _display_path(error: dict, data) -> KeyPath:
    """The user's key path for an error, without pydantic's union member labels."""
    shown, current = [], data
    loc = error["loc"]
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            shown.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            shown.append(part)
            current = current[part]
        elif i == len(loc) - 1 and error["type"] == "missing":
            shown.append(part)
        # otherwise `part` is a union label or type tag that the user never wrote
    return tuple(shown)


def _where(path: KeyPath, errors: list[dict], data, origins: Origins) -> str:
    blamed = path
    if errors[0]["type"] == "union_tag_invalid" and isinstance(_value_at(data, path), dict):
        blamed = path + ("type",)  # the unknown name was written as `type:`, maybe by a --set
    if origins.override_of(blamed):
        return " (from --set)"
    line = next((origins.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in origins.lines), None)
    inside = [format_path(p) for p in origins.overrides if p[:len(path)] == path]
    if line is None:
        return f" (with --set {', '.join(inside)})" if inside else ""
    return f" (line {line}, with --set {', '.join(inside)})" if inside else f" (line {line})"


def _value_at(data, path: KeyPath):
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


_NOUNS = {
    "string_type": "a string", "list_type": "a list", "float_type": "a number", "float_parsing": "a number",
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "bool_type": "true or false", "bool_parsing": "true or false", "none_required": "null",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _message(errors: list[dict], path: KeyPath, data, origins: Origins, root) -> str:
    kinds = [e["type"] for e in errors]
    if len(errors) > 1 and all(kind in _NOUNS for kind in kinds):
        nouns = list(dict.fromkeys(_NOUNS[kind] for kind in kinds))
        message = f"must be {' or '.join(nouns)}, got {_show(errors[0]['input'])}"
    else:
        message = _one_message(errors[0], path, data, origins, root)
    if "string_type" in kinds:
        message += _quoting_hint(path, origins)
    return message


def _one_message(error: dict, path: KeyPath, data, origins: Origins, root) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(path, data, root)
    if kind == "int_type" and isinstance(value, float):
        return _not_whole(value, origins.texts.get(path))
    if kind in _NOUNS:
        return f"must be {_NOUNS[kind]}, got {_show(value)}"
    if kind == "greater_than":
        if ctx.get("gt") == 0 and isinstance(ctx.get("gt"), int):  # the bound has the field's type
            return f"must be a positive integer, got {_show(value)}"
        return f"must be greater than {_bound(ctx.get('gt'))}, got {_show(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {_bound(ctx.get('ge'))}, got {_show(value)}"
    if kind == "less_than":
        return f"must be less than {_bound(ctx.get('lt'))}, got {_show(value)}"
    if kind == "less_than_equal":
        return f"must be at most {_bound(ctx.get('le'))}, got {_show(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        return f"must be one of {', '.join(choices)}; got {_show(value)}" + _closest(value, choices)
    if kind == "union_tag_invalid":
        choices = re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        return f"unknown {_kind(path)} {_show(ctx.get('tag'))}" + _closest(ctx.get("tag"), choices) + \
            f"; choose from: {', '.join(choices)}"
    if kind == "union_tag_not_found":
        return "needs a `type:` key"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    return error["msg"][:1].lower() + error["msg"][1:]


def _not_whole(value: float, text: str | None) -> str:
    """An integer key given a float: YAML reads `5.0` and `1e2` as floats, which is easy to miss."""
    written = text if text is not None else repr(value)
    message = f"must be an integer, got {written}"
    if not value.is_integer() or abs(value) >= 1e15:
        return message
    if re.search(r"[eE]", written):
        return message + f" (YAML reads {written} as the float {value!r}; write {int(value)})"
    return message + f" (a whole number, written without a decimal point: {int(value)})"


def _quoting_hint(path: KeyPath, origins: Origins) -> str:
    """How to pass text that YAML read as something else, for a value inside a `--set` list or mapping."""
    found = origins.override_of(path)
    if found is None or found[0] == path:
        return ""  # a key that takes text already gets a --set value as written
    fixed = quoted(found[1], path[len(found[0]):])
    return f"; --set values are YAML, so quote text: --set {fixed}" if fixed else ""


_KINDS = {"layers": "layer type", "pipeline": "pipeline step", "stopping": "stopping rule"}


def _kind(path: KeyPath) -> str:
    """What a `type:` names at this path, e.g. 'layer type' under model.layers."""
    names = [part for part in path if isinstance(part, str)]
    return _KINDS.get(names[-1], names[-1]) if names else "type"


def _show(value) -> str:
    return repr(value) if isinstance(value, (str, float)) else str(value)


def _bound(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _closest(value, choices) -> str:
    match = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _suggest(path: KeyPath, data, root: type[BaseModel]) -> str:
    """The key meant: a close key of the same mapping (of the chosen `type`, for a tagged one); else, for a
    tagged mapping, the keys that type has; else the same name elsewhere in the schema. Never the refused key."""
    name, parent = path[-1], path[:-1]
    model = model_at(parent, data, root)
    if model is None:
        return ""
    keys = [key for key in model.model_fields if key != "type"]
    match = difflib.get_close_matches(str(name), keys, n=1, cutoff=0.6)
    if match:
        return f"; did you mean {format_path(parent + (match[0],))}?"
    kind = type_name(model)
    section = next((s.path for s in sections(root) if s.model is model), "")
    if kind is not None:
        others = [s.type_name for s in sections(root)
                  if s.path == section and s.model is not model and name in s.model.model_fields]
        owners = f" ({', '.join(others)} {'has' if len(others) == 1 else 'have'} it)" if others else ""
        listed = f"its keys are {', '.join(keys)}" if keys else f"{kind} takes no options"
        return f": {kind} has no {name}{owners}; {listed}"
    own = f"{section}.{name}" if section else str(name)
    elsewhere = sorted(p for p in key_paths(root) if p.rpartition(".")[2] == name and p != own)
    return f"; did you mean {elsewhere[0].replace('[]', '[0]')}?" if elsewhere else ""
