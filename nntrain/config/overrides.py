"""`--set key.path=value` overrides: values are YAML, except where a key takes text and YAML reads something else."""

import re
import shlex

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

from nntrain.config.fields import KeyPath, accepts_text, type_at
from nntrain.errors import ConfigError
from nntrain.words import counted

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


def format_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def split_assignment(assignment: str) -> tuple[str, str]:
    key, sep, raw = assignment.partition("=")
    if not sep:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set optimizer.lr=0.01")
    return key.strip(), raw


def override_value(data: dict, path: KeyPath, raw: str, parsed):
    """The value `--set` gives a key: the YAML value, or the text as written when the key takes text and the YAML
    value is not something it takes (`-` reads as a list, `yes` as true, `5` as a number). Text that opens a flow
    list or mapping (`[a, b]`, `{...}`) is meant as YAML and stays YAML."""
    if isinstance(parsed, str) or not takes_text(data, path, raw) or _takes(type_at(path, data), parsed):
        return parsed
    return raw.strip()


def takes_text(data: dict, path: KeyPath, raw: str) -> bool:
    """Whether the key takes text and `raw` may be meant as text: not an explicit flow list or mapping."""
    annotation = type_at(path, data)
    return annotation is not None and accepts_text(annotation) and not raw.lstrip().startswith(("[", "{"))


def _takes(annotation, value) -> bool:
    try:
        TypeAdapter(annotation, config=ConfigDict(strict=True)).validate_python(value)
    except ValidationError:
        return False
    return True


def set_value(data: dict, path: KeyPath, value, key: str) -> None:
    """Put `value` at `path` in raw config data, creating mappings on the way."""
    target = data
    for depth, part in enumerate(path[:-1]):
        shown = format_path(path[:depth + 1])
        if isinstance(part, int):
            if not isinstance(target, list) or part >= len(target):
                size = len(target) if isinstance(target, list) else 0
                raise ConfigError(f"--set {key}: {shown} does not exist (the list has {counted(size, 'item')})")
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


def quoted(assignment: str, inner: KeyPath) -> str | None:
    """The assignment with the plain scalar at `inner` (a path inside its value) in quotes, as a shell word:
    `data.features=[a, yes]`, (1,) -> `'data.features=[a, "yes"]'`. None if there is no such scalar."""
    key, raw = split_assignment(assignment)
    try:
        node = yaml.compose(raw, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for part in inner:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        elif isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        else:
            return None
    if not isinstance(node, yaml.ScalarNode) or node.style is not None or '"' in node.value:
        return None
    start, end = node.start_mark.index, node.end_mark.index
    return shlex.quote(f'{key}={raw[:start]}"{raw[start:end]}"{raw[end:]}')
