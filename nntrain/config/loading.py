"""Load a config: strict YAML, `--set` overrides, validation with one message per problem naming its key."""

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from nntrain.config.fields import KeyPath, with_list_indexes
from nntrain.config.messages import Origins, problems
from nntrain.config.overrides import override_value, parse_key_path, set_value, split_assignment, takes_text
from nntrain.config.schema import Config
from nntrain.errors import ConfigError

# Values (mapping entries, list items, scalars) a config may expand to once aliases are followed. Real configs
# have hundreds; a few nested aliases ("billion laughs") reach billions in a few hundred bytes.
EXPANSION_BUDGET = 100_000


class _TooLarge(yaml.YAMLError):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, reads `1e-3` as a number (as YAML 1.2 does), and refuses aliases
    that expand past EXPANSION_BUDGET values or contain themselves, while composing, before anything is built."""

    def __init__(self, stream):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for, all aliases followed
        self._expanded = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            alias = self.peek_event()
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise _TooLarge(f"the alias *{alias.anchor} is inside the value it names, so it never ends",
                                alias.start_mark)
            self._count(self._sizes[id(node)], alias.start_mark, alias.anchor)
            return node
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
        self._count(1, node.start_mark)
        return node

    def _count(self, size: int, mark, anchor: str | None = None) -> None:
        self._expanded += size
        if self._expanded <= EXPANSION_BUDGET:
            return
        if anchor is None:
            raise _TooLarge(f"the config holds more than {EXPANSION_BUDGET:,} values; a config is never that large",
                            mark)
        raise _TooLarge(f"the alias *{anchor} takes the config past {EXPANSION_BUDGET:,} values once aliases are "
                        "expanded (aliases of aliases multiply); a config is never that large: write it without them",
                        mark)

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


def parse_yaml(text: str, source: str) -> tuple[object, Origins]:
    """Parse YAML text into plain data, and where each key path is in the text."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc, source)) from None
    finally:
        loader.dispose()
    origins = Origins()
    if node is not None:
        _record(node, (), origins)
    return data, origins


def _yaml_message(exc: yaml.YAMLError, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, _TooLarge):
        return f"{where}: {problem}"
    if "could not determine a constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '")
        problem = f"the tag {tag!r} is not allowed: a config is plain data (mappings, lists, numbers, strings)"
    elif "found character '\\t'" in problem:
        problem = "tab character: indent YAML with spaces"
    return f"{where}: invalid YAML: {problem}"


def _record(node, path: KeyPath, origins: Origins) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            origins.lines[child] = key_node.start_mark.line + 1
            _record(value_node, child, origins)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            origins.lines[path + (index,)] = item.start_mark.line + 1
            _record(item, path + (index,), origins)
    else:
        origins.texts[path] = node.value


def read_yaml_file(path: str, kind: str = "config") -> tuple[object, Origins]:
    """Read and parse a YAML file (a config, or a sweep file) into raw data and where each key was written."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"{kind} file not found: {path}")
    if file.is_dir():
        raise ConfigError(f"{path} is a directory; pass a YAML {kind} file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {kind} {path}: {exc.strerror}") from None
    return parse_yaml(text, path)


def read_config_file(path: str) -> tuple[dict, Origins]:
    """Read and parse a config file into raw data, refusing anything that is not a mapping."""
    data, origins = read_yaml_file(path)
    if data is None:
        raise ConfigError(f"{path} is empty; write a starter config with `nntrain init --data FILE -o FILE`")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys (seed:, data:, model:, ...), "
                          f"got a {type(data).__name__}")
    return data, origins


def apply_override(data: dict, assignment: str, origins: Origins | None = None) -> KeyPath:
    """Apply one `--set key.path=value` to raw config data, noting in `origins` what it set."""
    key, raw = split_assignment(assignment)
    path = with_list_indexes(parse_key_path(key), data)
    try:
        parsed, inner = parse_yaml(raw, f"--set {key}") if raw.strip() else ("", Origins())
    except ConfigError:
        if not takes_text(data, path, raw):
            raise
        parsed, inner = raw.strip(), Origins()  # `@x.csv` is not YAML, but it is text
    value = override_value(data, path, raw, parsed)
    set_value(data, path, value, key)
    if origins is not None:
        origins.texts = {p: text for p, text in origins.texts.items() if p[:len(path)] != path}
        texts = inner.texts if value is parsed else {(): value}
        origins.texts.update({path + sub: text for sub, text in texts.items()})
        origins.overrides[path] = assignment
    return path


def load_config(path: str, overrides: list[str] = ()) -> tuple[Config, dict]:
    """Load, override and validate a config file; returns the model and the raw data."""
    data, origins = read_config_file(path)
    for assignment in overrides:
        apply_override(data, assignment, origins)
    return validate_config(data, path, origins), data


def validate_config(data: dict, source: str, origins: Origins | None = None) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        listed = problems(exc, data, origins or Origins())
        raise ConfigError(f"invalid config {source}:\n" + "\n".join(f"  {p}" for p in listed)) from None
