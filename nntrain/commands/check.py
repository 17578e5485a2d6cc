"""`nntrain check` and `nntrain config`: what a config means, verified against its data, without training."""

import sys
from pathlib import Path

import yaml

from nntrain.commands.data_report import show_report
from nntrain.commands.display import Display
from nntrain.commands.runs import RUNS_ROOT, check_writable, refuse_existing_run
from nntrain.commands.session import build_session
from nntrain.commands.summary import describe, show_summary
from nntrain.config import load_config
from nntrain.errors import ConfigError


def check(config_path: str, overrides: list[str], display: Display) -> None:
    """Everything `fit` validates before its first step; raises the error `fit` would raise."""
    config, _ = load_config(config_path, overrides)
    run_dir = Path(config.output.dir) if config.output.dir else RUNS_ROOT
    check_writable(run_dir)
    if config.output.dir and run_dir.is_dir():
        try:
            refuse_existing_run(run_dir)
        except ConfigError as exc:
            raise ConfigError(f"`nntrain fit` would not start: {exc}") from None
    session = build_session(config)
    display.show(_yaml_view(config.resolved()))
    show_report({**session.data.report, "notes": session.data.notes}, display)
    show_summary(describe(session.model), display)
    display.note(f"{config_path}: ok, `nntrain fit {config_path}` will train a {session.task} model "
                 f"monitoring {session.monitor}")


def print_config(config_path: str, overrides: list[str], resolved: bool) -> None:
    """The config as YAML on stdout: with every default filled in, or only the keys that were written."""
    config, _ = load_config(config_path, overrides)
    data = config.resolved() if resolved else config.model_dump(mode="json", exclude_unset=True)
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False))


def _yaml_view(data: dict):
    from rich.panel import Panel
    from rich.syntax import Syntax

    return Panel(Syntax(yaml.safe_dump(data, sort_keys=False).rstrip(), "yaml", background_color="default"),
                 title="resolved config", title_align="left")

