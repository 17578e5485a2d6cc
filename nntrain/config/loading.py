"""Load a config: strict YAML, `--set` overrides, validation with one message per problem naming its key."""

import difflib
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from nntrain.config.fields import key_paths
from nntrain.config.schema import Config
from nntrain.errors import ConfigError

KeyPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads `1e-3` as a number, as YAML 1.2 does."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # unhashable key: SafeLoader reports it
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first set on line {first}); keep only one", key_node.start_mark)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def parse_yaml(text: str, source: str) -> tuple[object, dict[KeyPath, int]]:
    """Parse YAML text into plain data and a map from each key path to its line number."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc, source)) from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _yaml_message(exc: yaml.YAMLError, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    if "could not determine a constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '")
        problem = f"the tag {tag!r} is not allowed: a config is plain data (mappings, lists, numbers, strings)"
    elif "found character '\\t'" in problem:
        problem = "tab character: indent YAML with spaces"
    return f"{where}: invalid YAML: {problem}"


def _record_lines(node, path: KeyPath, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _record_lines(item, path + (index,), lines)


def read_config_file(path: str) -> tuple[dict, dict[KeyPath, int]]:
    """Read and parse a config file into raw data, refusing anything that is not a mapping."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"config file not found: {path}")
    if file.is_dir():
        raise ConfigError(f"{path} is a directory; pass a YAML config file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    data, lines = parse_yaml(text, path)
    if data is None:
        raise ConfigError(f"{path} is empty; start from an example in configs/")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys (seed:, data:, model:, ...), "
                          f"got a {type(data).__name__}")
    return data, lines


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(key: str) -> KeyPath:
    """'model.layers[0].units' -> ('model', 'layers', 0, 'units')."""
    parts, position = [], 0
    for match in _PATH_PART.finditer(key):
        if match.start() != position and key[position:match.start()] != ".":
            break
        parts.append(int(match.group(2)) if match.group(2) is not None else match.group(1))
        position = match.end()
    if not key or position != len(key):
        raise ConfigError(f"--set {key!r}: not a key path; write it like optimizer.lr or model.layers[0].units")
    return tuple(parts)


def apply_override(data: dict, assignment: str) -> KeyPath:
    """Apply one `--set key.path=value` (value parsed as YAML) to raw config data."""
    key, sep, raw = assignment.partition("=")
    if not sep:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set optimizer.lr=0.01")
    path = parse_key_path(key.strip())
    value = parse_yaml(raw, f"--set {key}")[0] if raw.strip() else ""
    target = data
    for depth, part in enumerate(path[:-1]):
        shown = format_path(path[:depth + 1])
        if isinstance(part, int):
            if not isinstance(target, list) or part >= len(target):
                size = len(target) if isinstance(target, list) else 0
                raise ConfigError(f"--set {key}: {shown} does not exist (the list has {size} items)")
            target = target[part]
        else:
            if not isinstance(target, dict):
                raise ConfigError(f"--set {key}: {format_path(path[:depth])} is not a mapping")
            current = target.get(part)
            if current is None:
                target[part] = {}
            elif isinstance(current, str):  # a shorthand such as `loss: mse` gains options
                target[part] = {"type": current}
            target = target[part]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(target, list) or last >= len(target):
            raise ConfigError(f"--set {key}: {format_path(path)} does not exist")
    elif not isinstance(target, dict):
        raise ConfigError(f"--set {key}: {format_path(path[:-1])} is not a mapping")
    target[last] = value
    return path


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_config(path: str, overrides: list[str] = ()) -> tuple[Config, dict]:
    """Load, override and validate a config file; returns the model and the raw data."""
    data, lines = read_config_file(path)
    overridden = {apply_override(data, assignment) for assignment in overrides}
    return validate_config(data, path, lines, overridden), data


def validate_config(data: dict, source: str, lines: dict | None = None, overridden=frozenset()) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, data, lines or {}, overridden)
        raise ConfigError(f"invalid config {source}:\n" + "\n".join(f"  {p}" for p in problems)) from None


def _problems(exc: ValidationError, data: dict, lines: dict, overridden) -> list[str]:
    grouped: dict[KeyPath, list[dict]] = {}
    for error in exc.errors():
        grouped.setdefault(_display_path(error, data), []).append(error)
    problems = []
    for path, errors in grouped.items():
        where = _where(path, lines, overridden)
        shown = format_path(path) or "(top level)"
        problems.append(f"{shown}{where}: {_message(errors, path)}")
    return problems


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


def _where(path: KeyPath, lines: dict, overridden) -> str:
    for length in range(len(path), 0, -1):
        if path[:length] in overridden:
            return " (from --set)"
        if path[:length] in lines:
            return f" (line {lines[path[:length]]})"
    return ""


_NOUNS = {
    "string_type": "a string", "list_type": "a list", "float_type": "a number", "float_parsing": "a number",
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "bool_type": "true or false", "bool_parsing": "true or false", "none_required": "null",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _message(errors: list[dict], path: KeyPath) -> str:
    kinds = [e["type"] for e in errors]
    if len(errors) > 1 and all(kind in _NOUNS for kind in kinds):
        nouns = list(dict.fromkeys(_NOUNS[kind] for kind in kinds))
        return f"must be {' or '.join(nouns)}, got {_show(errors[0]['input'])}"
    return _one_message(errors[0], path)


def _one_message(error: dict, path: KeyPath) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(path)
    if kind in _NOUNS:
        return f"must be {_NOUNS[kind]}, got {_show(value)}"
    if kind == "greater_than":
        if ctx.get("gt") == 0 and isinstance(value, int) and not isinstance(value, bool):
            return f"must be a positive integer, got {_show(value)}"
        return f"must be greater than {_show(ctx.get('gt'))}, got {_show(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {_show(ctx.get('ge'))}, got {_show(value)}"
    if kind == "less_than":
        return f"must be less than {_show(ctx.get('lt'))}, got {_show(value)}"
    if kind == "less_than_equal":
        return f"must be at most {_show(ctx.get('le'))}, got {_show(value)}"
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


_KINDS = {"layers": "layer type", "pipeline": "pipeline step", "stopping": "stopping rule"}


def _kind(path: KeyPath) -> str:
    """What a `type:` names at this path, e.g. 'layer type' under model.layers."""
    names = [part for part in path if isinstance(part, str)]
    return _KINDS.get(names[-1], names[-1]) if names else "type"


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _closest(value, choices) -> str:
    match = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _suggest(path: KeyPath) -> str:
    """Suggest the key meant: a close sibling first, else the same name elsewhere in the schema."""
    generic = re.sub(r"\[\d+\]", "[]", format_path(path))
    parent, _, name = generic.rpartition(".")
    known = key_paths()
    siblings = [p.rpartition(".")[2] for p in known if p.rpartition(".")[0] == parent]
    match = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    if match:
        return f"; did you mean {format_path(path[:-1] + (match[0],))}?"
    elsewhere = sorted(p for p in known if p.rpartition(".")[2] == name)
    if elsewhere:
        return f"; did you mean {elsewhere[0].replace('[]', '[0]')}?"
    return ""
