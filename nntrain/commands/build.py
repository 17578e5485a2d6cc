"""Build the engine's objects from a validated config, each looked up in its registry by name."""

from nntrain.config.schema import Config
from nntrain.errors import ConfigError
from nntrain.nn.losses import LOSSES, Loss
from nntrain.optim.optimizers import OPTIMIZERS, Optimizer
from nntrain.optim.schedules import SCHEDULES, Schedule
from nntrain.train.metrics import infer_mode, metric_names
from nntrain.train.stopping import STOPPING_RULES, Divergence, Rule

DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse", "multilabel": "binary_cross_entropy"}


def _options(spec) -> dict:
    """A spec's options without its `type` and without unset (None) values."""
    return {k: v for k, v in spec.model_dump().items() if k != "type" and v is not None}


def loss_spec(config: Config, task: str) -> dict:
    """The loss as a plain spec, defaulted from the task and checked against it."""
    spec = config.loss.model_dump() if config.loss else {"type": DEFAULT_LOSS[task]}
    tasks = LOSSES[spec["type"]].tasks
    if task not in tasks:
        raise ConfigError(f"loss: {spec['type']} does not fit a {task} task; use loss: {DEFAULT_LOSS[task]}"
                          + ("" if config.task != "auto" else " (or set task:)"))
    return spec


def make_loss(spec: dict) -> Loss:
    options = {k: v for k, v in spec.items() if k != "type"}
    return LOSSES[spec["type"]](**options)


def layer_specs(config: Config, output_units: int) -> list[dict]:
    """Hidden layers as plain specs with the global penalties filled in, then the output layer."""
    penalties = config.regularization
    specs = []
    for layer in config.model.layers:
        spec = {"type": layer.type, **_options(layer)}
        if "l1" in type(layer).model_fields:
            spec["l1"] = penalties.l1 if layer.l1 is None else layer.l1
            spec["l2"] = penalties.l2 if layer.l2 is None else layer.l2
        specs.append(spec)
    specs.append({"type": "dense", "name": "output", "units": output_units, "activation": "linear",
                  "l1": penalties.l1, "l2": penalties.l2})
    return specs


def make_optimizer(config: Config) -> Optimizer:
    options = _options(config.optimizer)
    for shared in ("lr", "schedule", "clip_norm", "clip_value"):
        options.pop(shared, None)
    return OPTIMIZERS[config.optimizer.type](**options)


def make_schedule(config: Config, steps_per_epoch: int, monitor: str, mode: str) -> Schedule:
    spec = config.optimizer.schedule
    options = _options(spec)
    if spec.type == "reduce_on_plateau":
        options["monitor"] = spec.monitor or monitor
        options["mode"] = _mode(options["monitor"], spec.mode)
    return SCHEDULES[spec.type](config.optimizer.lr, config.training.epochs, steps_per_epoch, **options)


def available_metrics(task: str, has_validation: bool) -> list[str]:
    names = ["loss"]
    if has_validation:
        names += ["val_loss"] + [f"val_{name}" for name in metric_names(task)]
    return names


def resolve_monitor(config: Config, task: str, has_validation: bool) -> tuple[str, str]:
    """The metric that picks the best epoch, and whether lower or higher is better."""
    available = available_metrics(task, has_validation)
    monitor = config.training.monitor or ("val_loss" if has_validation else "loss")
    _check_metric(monitor, available, "training.monitor")
    for index, rule in enumerate(config.training.stopping):
        if getattr(rule, "monitor", None):
            _check_metric(rule.monitor, available, f"training.stopping[{index}].monitor")
    schedule = config.optimizer.schedule
    if getattr(schedule, "monitor", None):
        _check_metric(schedule.monitor, available, "optimizer.schedule.monitor")
    return monitor, _mode(monitor, config.training.mode)


def _check_metric(name: str, available: list[str], key: str) -> None:
    if name not in available:
        hint = "" if any(a.startswith("val_") for a in available) else \
            " (validation metrics need data.split.validation > 0)"
        raise ConfigError(f"{key}: unknown metric {name!r}; available: {', '.join(available)}{hint}")


def _mode(metric: str, mode: str) -> str:
    return infer_mode(metric) if mode == "auto" else mode


def make_rules(config: Config, monitor: str) -> tuple[list[Rule], Divergence]:
    """The configured stopping rules, and the divergence guard (always on, default factor 100)."""
    rules, divergence = [], Divergence()
    for spec in config.training.stopping:
        if spec.type == "divergence":
            divergence = Divergence(spec.factor)
        elif spec.type == "plateau":
            watched = spec.monitor or monitor
            rules.append(STOPPING_RULES["plateau"](watched, _mode(watched, spec.mode), spec.patience,
                                                   spec.min_delta, spec.relative))
        elif spec.type == "target":
            rules.append(STOPPING_RULES["target"](spec.monitor, spec.value, _mode(spec.monitor, spec.mode)))
        elif spec.type == "max_time":
            rules.append(STOPPING_RULES["max_time"](spec.seconds, spec.limit))
    return rules, divergence
