"""Optuna's samplers and pruners under the names sweep files give them, and the seeds a sweep derives.

One registry per kind, keyed by the schema's `type` names (a test checks that they agree).
Every sampler is built afresh for each trial from the sweep's seed and the trial's number
(`PerTrialSeed`): workers started with the same seed would otherwise draw the same values,
and a trial's draws would depend on which worker ran it and what that worker ran before.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nntrain.sweep import require_optuna
from nntrain.sweep.space import Space

optuna = require_optuna()

_PURPOSES = {"run": 0, "sampler": 1}


def derived_seed(seed: int, number: int, purpose: str) -> int:
    """A seed for trial `number` of a sweep seeded `seed`: 'run' (the config's seed) or 'sampler' (its draws)."""
    return int(np.random.SeedSequence([seed, number, _PURPOSES[purpose]]).generate_state(1)[0])


SAMPLERS: dict[str, Callable] = {
    "tpe": lambda spec, seed, space: optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=spec.startup_trials, constant_liar=True),  # parallel workers spread out
    "random": lambda spec, seed, space: optuna.samplers.RandomSampler(seed=seed),
    "grid": lambda spec, seed, space: optuna.samplers.GridSampler(space.grid(), seed=seed),
    "cmaes": lambda spec, seed, space: optuna.samplers.CmaEsSampler(seed=seed),
}


@dataclass(frozen=True)
class PrunerKind:
    build: Callable  # (spec, epochs of the base config) -> an Optuna pruner
    rule: str        # how a pruned trial's stop reason names it: "pruned by median rule at epoch 3"


PRUNERS: dict[str, PrunerKind] = {
    # Steps are epochs, counted from 1: Optuna prunes from step n_warmup_steps on, so the first prunable
    # epoch is the one after `warmup_epochs` of them.
    "median": PrunerKind(lambda spec, epochs: optuna.pruners.MedianPruner(
        n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs + 1), "median rule"),
    "hyperband": PrunerKind(lambda spec, epochs: optuna.pruners.HyperbandPruner(
        min_resource=spec.min_epochs, max_resource=max(epochs, spec.min_epochs),
        reduction_factor=spec.reduction_factor), "hyperband"),
    "none": PrunerKind(lambda spec, epochs: optuna.pruners.NopPruner(), "none"),
}


def make_sampler(spec, space: Space) -> "PerTrialSeed":
    return PerTrialSeed(lambda seed: SAMPLERS[spec.type](spec, seed, space), spec.seed)


def make_pruner(spec, epochs: int):
    return PRUNERS[spec.type].build(spec, epochs)


class PerTrialSeed(optuna.samplers.BaseSampler):
    """A sampler rebuilt before each trial with a seed from the sweep's seed and the trial's number.

    Optuna's samplers keep what they learn in the study, not in the sampler, so a fresh one per
    trial draws as well as a long-lived one; only its random stream is new.
    """

    def __init__(self, build: Callable[[int], "optuna.samplers.BaseSampler"], seed: int):
        self._build, self._seed = build, seed
        self._sampler = build(seed)

    def before_trial(self, study, trial):
        self._sampler = self._build(derived_seed(self._seed, trial.number, "sampler"))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values):
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self):
        """Nothing to do: every trial gets its own seed already."""
