"""Read a sweep file: the same strict YAML and one-line-per-problem messages as a config, against the sweep schema."""

from pathlib import Path

from pydantic import ValidationError

from nntrain.config.loading import read_yaml_file
from nntrain.config.messages import Origins, problems
from nntrain.errors import ConfigError
from nntrain.sweep.schema import Sweep


def read_sweep_file(path: str) -> tuple[Sweep, Origins]:
    """The validated sweep and where each of its keys was written."""
    data, origins = read_yaml_file(path, "sweep")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping of keys (base:, space:, trials: ...); write one with "
                          "`nntrain init --data FILE -o NAME.yaml --sweep`")
    try:
        return Sweep.model_validate(data), origins
    except ValidationError as exc:
        listed = problems(exc, data, origins, root=Sweep)
        raise ConfigError(f"invalid sweep file {path}:\n" + "\n".join(f"  {p}" for p in listed)) from None


def sweep_name(path: str) -> str:
    """`iris` for iris.yaml and iris.sweep.yaml: the default study name and sweeps/ folder."""
    name = Path(path).name
    for suffix in (".yaml", ".yml", ".sweep"):
        name = name.removesuffix(suffix)
    return name or "sweep"
