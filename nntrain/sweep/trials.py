"""One trial: the base config with the trial's values, trained in this process as an ordinary run by `nntrain.fit`.

A trial's run goes to SWEEP_DIR/trial-NNNN/ with its config, metrics, checkpoints and summary.
It trains with a seed derived from the sweep's seed and its number, splits its rows with the
base config's seed (so every trial is judged on the same validation rows), and picks its best
epoch by the sweep's metric, whose best value so far is reported to Optuna after every epoch.
"""

import copy
import os
import socket

from pydantic import ValidationError

from nntrain.config.schema import Config
from nntrain.errors import Interrupted, NNTrainError
from nntrain.monitor import Best
from nntrain.run.api import fit
from nntrain.run.training import read_summary
from nntrain.sweep import require_optuna
from nntrain.sweep.engines import PRUNERS, derived_seed
from nntrain.sweep.plan import SweepPlan
from nntrain.sweep.study import COUNTS, REASON, SKIPPED
from nntrain.train.progress import Reporter

optuna = require_optuna()
SURPLUS = "not run: trials numbered before it had taken the whole budget (workers asked at the same moment)"


class TrialFailed(Exception):
    """The trial's own training failed (diverged, bad data): recorded as failed, it keeps its place in the budget."""


class Surplus(Exception):
    """The trial came after the budget was full: recorded as failed, it gives its place back."""


def trial_dir(plan: SweepPlan, number: int):
    return plan.dir / f"trial-{number:04d}"


def trial_config(plan: SweepPlan, values: dict, number: int) -> dict:
    """The raw config of trial `number`: the base config, its seeds, the space's values, the sweep's metric."""
    data = copy.deepcopy(plan.base)
    data["seed"] = derived_seed(plan.seed, number, "run")
    split = data.setdefault("data", {}).get("split")
    data["data"]["split"] = {**(split or {}), "seed": plan.split_seed}
    data = plan.space.apply(data, values)
    if plan.metric != plan.monitor:
        _keep_watching(data, plan.monitor)
    training = data.get("training") or {}
    data["training"] = {**training, "monitor": plan.metric, "mode": plan.mode}
    return data


def _keep_watching(data: dict, monitor: str) -> None:
    """Stopping rules and a plateau schedule that watch `training.monitor` by default keep watching the base
    config's, though each trial's training.monitor becomes the sweep's metric."""
    try:
        config = Config.model_validate(data)
    except ValidationError:
        return  # fit refuses the config with its own message
    training = data.setdefault("training", {})
    rules = training.get("stopping") or []
    training["stopping"] = rules = [rules] if isinstance(rules, dict) else rules
    for raw, rule in zip(rules, config.training.stopping):
        if "monitor" in type(rule).model_fields and rule.monitor is None and isinstance(raw, dict):
            raw["monitor"] = monitor
    schedule = config.optimizer.schedule
    if "monitor" in type(schedule).model_fields and schedule.monitor is None:
        optimizer = data.get("optimizer")
        optimizer = data["optimizer"] = {"type": optimizer} if isinstance(optimizer, str) else optimizer
        written = optimizer.get("schedule")
        optimizer["schedule"] = {**({"type": written} if isinstance(written, str) else written), "monitor": monitor}


def retrain_config(data: dict) -> dict:
    """A trial's resolved config as best.yaml holds it: everything the same but the run directory (the default)."""
    resolved = Config.model_validate(data).resolved()
    resolved["output"]["dir"] = None
    return resolved


class Pruning:
    """A `fit` callback: reports the best value so far after each epoch, and stops the run when Optuna prunes it."""

    def __init__(self, trial, metric: str, mode: str, rule: str):
        self.trial, self.metric, self.rule = trial, metric, rule
        self.best = Best(mode)
        self.pruned = False

    def __call__(self, record: dict) -> str | None:
        self.best.update(record["epoch"], record[self.metric])
        self.trial.report(self.best.value, record["epoch"])
        if self.trial.should_prune():
            self.pruned = True
            return f"pruned by {self.rule} at epoch {record['epoch']}"
        return None


class Objective:
    """What Optuna calls for each trial: train it, record why it ended, return its value."""

    def __init__(self, plan: SweepPlan, budget, progress: Reporter | None = None):
        self.plan, self.budget = plan, budget
        self.progress = progress or Reporter()
        self.rule = PRUNERS[plan.sweep.pruner.type].rule

    def __call__(self, trial) -> float:
        if self.budget.taken_before(trial.study, trial.number):
            trial.set_user_attr(SKIPPED, True)
            trial.set_user_attr(REASON, SURPLUS)
            raise Surplus(SURPLUS)
        values = self.plan.space.suggest(trial)
        run_dir = trial_dir(self.plan, trial.number)
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("process", os.getpid())
        pruning = Pruning(trial, self.plan.metric, self.plan.mode, self.rule)
        try:
            data = trial_config(self.plan, values, trial.number)
            run = fit(data, run_dir=run_dir, progress=self.progress, callbacks=[pruning])
        except Interrupted as exc:
            trial.set_user_attr(REASON, str(exc).split(";")[0])
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(REASON, "interrupted by SIGINT")
            raise
        except NNTrainError as exc:
            trial.set_user_attr(COUNTS, True)
            trial.set_user_attr(REASON, str(exc))
            trial.set_user_attr("epochs", read_summary(run_dir).get("epochs_run", 0))
            raise TrialFailed(str(exc)) from None
        except Exception as exc:  # a bug: the worker stops with it, and the trial gives its place back
            trial.set_user_attr(REASON, f"internal error: {type(exc).__name__}: {exc}")
            raise
        summary = run.summary
        trial.set_user_attr("epochs", summary["epochs_run"])
        trial.set_user_attr(REASON, summary["stop_reason"])
        if pruning.pruned:
            raise optuna.TrialPruned(summary["stop_reason"])
        trial.set_user_attr("config", retrain_config(data))
        return summary["best_value"]
