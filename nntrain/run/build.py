"""Everything a config implies before training starts: data, task, loss, model, monitor, optimizer, rules.

Building a `Setup` validates the whole run (config against data) without training,
so `fit`, `check` and `summary` agree on what a config means. Every kind is built
through its registry by the `type` name the config gives; options that name a
monitored metric (`monitor`, `mode`) are resolved the same way for every kind.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nntrain.config import Config
from nntrain.data.prepared import TrainingData
from nntrain.data.targets import output_units
from nntrain.data.text import token_blocks
from nntrain.errors import ConfigError
from nntrain.monitor import resolve_mode
from nntrain.nn.losses import LOSSES, Loss, make_loss
from nntrain.nn.memory import MemoryEstimate, ModelPlan, plan_model, training_memory
from nntrain.nn.model import Model, build_model
from nntrain.optim.optimizers import OPTIMIZERS, Optimizer
from nntrain.optim.schedules import SCHEDULES, Schedule
from nntrain.run.data import class_weights, load_training_data
from nntrain.resources import refuse_if_too_big
from nntrain.seeds import rng_for
from nntrain.train.metrics import HEADLINE, metric_names
from nntrain.train.stopping import STOPPING_RULES, Divergence, Rule
from nntrain.train.tracking import require_trackers

DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse", "multilabel": "binary_cross_entropy"}
_SHARED_OPTIMIZER_KEYS = ("lr", "schedule", "clip_norm", "clip_value")


@dataclass
class Blueprint:
    """A run as planned: the data prepared and the model's shapes known, nothing allocated for training yet."""

    config: Config
    data: TrainingData
    loss_spec: dict
    layer_specs: list[dict]
    model_plan: ModelPlan
    monitor: str
    mode: str

    @property
    def target(self) -> dict:
        return self.data.state["target"]

    @property
    def task(self) -> str:
        return self.target["task"]

    @property
    def has_validation(self) -> bool:
        return len(self.data.x["validation"]) > 0

    def training_memory(self, resuming: bool = False) -> MemoryEstimate:
        """Bytes training this model needs, on top of the prepared data (see nntrain.nn.memory)."""
        evaluation_rows = max(len(self.data.x["validation"]), len(self.data.x["test"]))
        states = len(OPTIMIZERS[self.config.optimizer.type].state_names)
        return training_memory(self.model_plan, self.config.training.batch_size, self.config.engine.dtype, states,
                               evaluation_rows=evaluation_rows, resuming=resuming)


@dataclass
class Setup(Blueprint):
    """Everything training needs: the blueprint with its loss, its allocated model and class weights."""

    loss: Loss
    model: Model
    class_weight: np.ndarray | None

    def optimizer(self) -> Optimizer:
        """The configured optimizer, bound to the model's parameter buffer."""
        options = _options(self.config.optimizer)
        for shared in _SHARED_OPTIMIZER_KEYS:
            options.pop(shared, None)
        optimizer = OPTIMIZERS[self.config.optimizer.type](**options)
        optimizer.bind(self.model.flat_params.size, self.model.dtype, self.model.decay_mask)
        return optimizer

    def schedule(self, steps_per_epoch: int) -> Schedule:
        return make_schedule(self.config, steps_per_epoch, self.monitor, self.mode)

    def rules(self) -> tuple[list[Rule], Divergence]:
        """The configured stopping rules, and the divergence guard (always on, default factor 100)."""
        rules = [STOPPING_RULES[spec.type](**_monitored(spec, self.monitor)) for spec in self.config.training.stopping]
        guards = [rule for rule in rules if isinstance(rule, Divergence)]
        return [rule for rule in rules if not isinstance(rule, Divergence)], (guards[-1] if guards else Divergence())

    def shown_columns(self) -> tuple[str, ...]:
        """Per-epoch values worth a glance: losses, the task's headline metric, the monitor, the rate."""
        columns = ["loss"] + (["val_loss", f"val_{HEADLINE[self.task]}"] if self.has_validation else [])
        return tuple(dict.fromkeys(columns + [self.monitor, "lr"]))


def plan(config: Config, progress: Callable[[str], None] = lambda message: None, task=None) -> Blueprint:
    """Prepare the data and plan the model a config describes, refusing whatever does not fit together;
    `progress` hears about each pass over a streamed table, `task` (a `Reporter.task`) shows decoding."""
    require_trackers(config.output.tracking)  # a missing extra is refused before the data is read
    data = load_training_data(config, progress, task)
    target = data.state["target"]
    task = target["task"]
    spec = loss_spec(config, task)
    monitor, mode = resolve_monitor(config, task, len(data.x["validation"]) > 0)
    specs = _bind_tokens(layer_specs(config, output_units(target, spec["type"])), data.state)
    try:
        model_plan = plan_model(specs, data.x["train"].shape[1:])
    except ValueError as exc:
        raise ConfigError(f"model.layers: {exc}") from None
    return Blueprint(config, data, spec, specs, model_plan, monitor, mode)


def build(config: Config, resuming: bool = False, progress: Callable[[str], None] = lambda message: None,
          task=None) -> Setup:
    """Plan the run, check that training it fits in memory, then allocate and initialise the model."""
    blueprint = plan(config, progress, task)
    needed = blueprint.training_memory(resuming)
    refuse_if_too_big(needed.total, f"training this model ({blueprint.model_plan.parameters:,} parameters, "
                                    f"batches of {config.training.batch_size})",
                      "make the model smaller (model.layers) or lower training.batch_size")
    model = build_model(blueprint.layer_specs, blueprint.data.x["train"].shape[1:], config.engine.dtype,
                        rng_for(config.seed, "init"), rng_for(config.seed, "dropout"))
    weights = class_weights(config, blueprint.target, blueprint.data.y["train"], model.dtype)
    return Setup(**vars(blueprint), loss=make_loss(blueprint.loss_spec), model=model, class_weight=weights)


def _options(spec) -> dict:
    """A spec's options without its `type` and without unset (None) values."""
    return {k: v for k, v in spec.model_dump().items() if k != "type" and v is not None}


def _monitored(spec, default_monitor: str) -> dict:
    """A spec's options, with `monitor` defaulted to training.monitor and `mode: auto` resolved."""
    options = _options(spec)
    if "monitor" in type(spec).model_fields:
        options["monitor"] = options.get("monitor") or default_monitor
        if "mode" in options:
            options["mode"] = resolve_mode(options["monitor"], options["mode"])
    return options


def loss_spec(config: Config, task: str) -> dict:
    """The loss as a plain spec, defaulted from the task and checked against it."""
    spec = config.loss.model_dump() if config.loss else {"type": DEFAULT_LOSS[task]}
    if task not in LOSSES[spec["type"]].tasks:
        raise ConfigError(f"loss: {spec['type']} does not fit a {task} task; use loss: {DEFAULT_LOSS[task]}"
                          + ("" if config.task != "auto" else " (or set task:)"))
    return spec


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


def _bind_tokens(specs: list[dict], state: dict) -> list[dict]:
    """Tell the embedding_bag layer where the text steps' token blocks are in the feature matrix; token ids
    are read only by it, as the first layer (a dense layer would take them for numbers)."""
    blocks = token_blocks(state)
    bags = [index for index, spec in enumerate(specs) if spec["type"] == "embedding_bag"]
    if blocks and bags != [0]:
        raise ConfigError("model.layers: the text step's token ids are read by an embedding_bag layer, which must "
                          "be the first layer and only once, e.g. layers: [{type: embedding_bag, dim: 32}, ...]")
    if bags and not blocks:
        raise ConfigError("model.layers: embedding_bag reads token ids; add a text step to data.pipeline, e.g. "
                          "{type: text, columns: [description]}")
    return [{**spec, "tokens": blocks} if spec["type"] == "embedding_bag" else spec for spec in specs]


def make_schedule(config: Config, steps_per_epoch: int, monitor: str, mode: str) -> Schedule:
    spec = config.optimizer.schedule
    options = _monitored(spec, monitor)
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
    return monitor, resolve_mode(monitor, config.training.mode)


def _check_metric(name: str, available: list[str], key: str) -> None:
    if name not in available:
        hint = "" if any(a.startswith("val_") for a in available) else \
            " (validation metrics need data.split.validation > 0)"
        raise ConfigError(f"{key}: unknown metric {name!r}; available: {', '.join(available)}{hint}")
