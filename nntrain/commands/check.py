"""`nntrain check`: what a config means, verified against its data, without training."""

import yaml

from nntrain.commands.data import show_report
from nntrain.commands.display import Display
from nntrain.commands.summary import describe_blueprint, show_summary
from nntrain.config import load_config
from nntrain.errors import ConfigError
from nntrain.run.build import build
from nntrain.run.data import memory_plan
from nntrain.run.directory import check_run_dir, plan_run_dir


def check(config_path: str, overrides: list[str], display: Display) -> None:
    """Everything `fit` validates before its first step; raises the error `fit` would raise."""
    config, _ = load_config(config_path, overrides)
    plan = plan_run_dir(config.output.dir, config_path, resume=None)
    try:
        check_run_dir(plan, resume=False, overwrite=False)
    except ConfigError as exc:
        raise ConfigError(f"`nntrain fit` would not start: {exc}") from None
    setup = build(config, progress=display.note)
    memory = memory_plan(config)
    if memory is not None:
        display.note(f"data: {memory.describe()}")
    display.result_text(yaml.safe_dump(config.resolved(), sort_keys=False), syntax="yaml", title="resolved config")
    show_report({**setup.data.report, "notes": setup.data.notes}, display)
    show_summary(describe_blueprint(setup), display)
    display.note(f"{config_path}: ok, `nntrain fit {config_path}` will train a {setup.task} model "
                 f"monitoring {setup.monitor}")
