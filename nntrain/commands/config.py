"""`nntrain config`: a config as YAML on stdout, with overrides applied (and every default, with --resolved)."""

import sys

import yaml

from nntrain.config import load_config


def print_config(config_path: str, overrides: list[str], resolved: bool) -> None:
    config, _ = load_config(config_path, overrides)
    data = config.resolved() if resolved else config.model_dump(mode="json", exclude_unset=True)
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
