"""A sweep worker: take trials from the shared study until the budget is taken, then wait for the others.

A worker that finds every place taken still waits while trials run elsewhere: a worker that
dies leaves its trial running until the heartbeat check (`grace_period`) marks it failed,
and then its place is free again. So `nntrain sweep` returns once the whole study is done,
whichever worker ran what. `run_workers` starts N workers as processes of the same command,
each in its own session, and passes a Ctrl-C (or SIGTERM) on to each of them once.
"""

import fcntl
import json
import signal
import subprocess
import time
from pathlib import Path

import yaml

from nntrain.errors import ConfigError, Interrupted, NNTrainError
from nntrain.sweep import require_optuna
from nntrain.sweep.engines import make_pruner, make_sampler
from nntrain.sweep.plan import SweepPlan
from nntrain.sweep.study import COUNTS, REASON, SKIPPED, Budget, open_storage, open_study, running, shown_url
from nntrain.sweep.trials import Objective, Surplus, TrialFailed
from nntrain.files import remove_stale_temporaries, write_bytes_atomic
from nntrain.train.progress import Reporter
from nntrain.train.stopping import parse_duration
from nntrain.words import counted

optuna = require_optuna()
TrialState = optuna.trial.TrialState
POLL_SECONDS = 2.0  # how often a worker with nothing to run looks at the trials others are running


class WorkerFailed(NNTrainError):
    """A worker process of `--workers` ended with an error (its own message is above)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def heartbeat_seconds(plan: SweepPlan) -> tuple[int, int]:
    """The heartbeat interval and grace period in whole seconds, as Optuna takes them."""
    interval = max(1, round(parse_duration(plan.sweep.heartbeat_interval)))
    return interval, max(interval + 1, round(parse_duration(plan.sweep.grace_period)))


def create_study(plan: SweepPlan):
    """The plan's study, created if new, in storage opened with heartbeats; and the sweep directory ready."""
    try:
        plan.dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"dir: cannot create {plan.dir}: {exc.strerror or exc}") from None
    interval, grace = heartbeat_seconds(plan)
    storage = open_storage(plan.storage, heartbeat_interval=interval, grace_period=grace)
    study = open_study(storage, plan.study, plan.metric, plan.mode, make_sampler(plan.sweep.sampler, plan.space),
                       make_pruner(plan.sweep.pruner, plan.epochs))
    _prepare_dir(plan, study)
    return study


def _prepare_dir(plan: SweepPlan, study) -> None:
    if not study.get_trials(deepcopy=False):
        earlier = sorted(path.name for path in plan.dir.glob("trial-*"))
        if earlier and not study.get_trials(deepcopy=False):  # again: another worker may have just begun one
            raise ConfigError(f"{plan.dir} holds trials of another study ({', '.join(earlier[:3])}"
                              f"{' ...' if len(earlier) > 3 else ''}) but study {plan.study!r} is new; remove them, "
                              "or choose another dir (or --study for the study they belong to)")
    remove_stale_temporaries(plan.dir)
    record = {"storage": shown_url(plan.storage), "study": plan.study, "sweep_file": plan.source,
              "metric": plan.metric}
    write_bytes_atomic(plan.dir / "sweep.json", (json.dumps(record, indent=2) + "\n").encode("utf-8"))


def work(plan: SweepPlan, study, note, warn, progress: Reporter | None = None) -> None:
    """Run trials until the budget is taken or the timeout passes, then wait for trials still running elsewhere."""
    budget = Budget(plan.trials)
    best = BestFile(plan)
    callbacks = [TrialLog(plan, note, warn), best, budget]
    objective = Objective(plan, budget, progress)
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
    interval, _ = heartbeat_seconds(plan)
    try:
        while True:
            optuna.storages.fail_stale_trials(study)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            if budget.left(study) > 0:
                study.optimize(objective, timeout=remaining, callbacks=callbacks, catch=(TrialFailed, Surplus))
            elif running(study):
                time.sleep(min(POLL_SECONDS, interval))
            else:
                break
    except Interrupted as exc:
        raise Interrupted(f"{str(exc).split(';')[0]}; the trial is marked failed and gives its place back: run the "
                          f"same command again to continue the study ({plan.source})", exc.exit_code) from None
    finally:
        best.write(study)


class TrialLog:
    """One line on stderr per finished trial: its value, or why it was pruned or failed."""

    def __init__(self, plan: SweepPlan, note, warn):
        self.metric, self.note, self.warn = plan.metric, note, warn

    def __call__(self, study, trial) -> None:
        reason = trial.user_attrs.get(REASON, "")
        if trial.state == TrialState.FAIL:
            if not trial.user_attrs.get(SKIPPED):
                kept = "" if trial.user_attrs.get(COUNTS) else " (it will run again)"
                self.warn(f"trial {trial.number} failed{kept}: {reason}")
            return
        value = f"{self.metric} {trial.value:.6g}" if trial.value is not None else "no value"
        epochs = trial.user_attrs.get("epochs", trial.last_step)
        self.note(f"trial {trial.number} {trial.state.name.lower()}: {value} after {counted(epochs or 0, 'epoch')} "
                  f"({reason}); {params_text(trial.params)}")


def params_text(params: dict) -> str:
    """`optimizer.lr=0.0123, model.layers[0].units=57`, a long choice cut short."""
    return ", ".join(f"{key}={short_value(value)}" for key, value in params.items())


def short_value(value, width: int = 40) -> str:
    """A parameter as people read it: floats to 4 digits, a long JSON choice cut to `width` characters."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[:width - 3] + "..."


class BestFile:
    """SWEEP_DIR/best.yaml: the resolved config of the best trial so far, rewritten atomically when it changes.

    The best trial is read from the storage under a lock on the sweep directory, so local workers
    finishing together leave the best of all, never the best of the slower one's view.
    """

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        self.path = plan.dir / "best.yaml"
        self.written: int | None = None

    def __call__(self, study, trial) -> None:
        if trial.state == TrialState.COMPLETE:
            self.write(study)

    def write(self, study) -> Path | None:
        with open(self.plan.dir / ".best.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                best = study.best_trial
            except ValueError:  # no completed trial yet
                return None
            config = best.user_attrs.get("config")
            if config is None or (best.number == self.written and self.path.exists()):
                return self.path if config else None
            header = (f"# The best trial of sweep {self.plan.study!r}: trial {best.number}, {self.plan.metric} "
                      f"{best.value:.6g}, trained in {best.user_attrs.get('run_dir')} on "
                      f"{best.user_attrs.get('host', 'this machine')}.\n"
                      f"# `nntrain fit {self.path}` retrains it: the same config and seed, the same value.\n")
            write_bytes_atomic(self.path, (header + yaml.safe_dump(config, sort_keys=False)).encode("utf-8"))
            self.written = best.number
            return self.path


def run_workers(command: list[str], count: int, note) -> None:
    """Start `count` processes of `command` (each a worker of the same study) and wait for them all.

    Each has its own session, so a Ctrl-C in the terminal reaches this process alone, which passes
    it on to every worker once: each then stops after its batch, marks its trial failed and exits 130.
    """
    workers: list[subprocess.Popen] = []

    def forward(signum, frame):
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        workers += [subprocess.Popen(command, start_new_session=True) for _ in range(count)]
        note(f"started {count} workers (processes {', '.join(str(w.pid) for w in workers)})")
        codes = [worker.wait() for worker in workers]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    interrupted = [code for code in codes if code in (130, 143)]
    if interrupted:
        raise Interrupted("interrupted: every worker stopped after its batch and marked its trial failed; run the "
                          "same command again to continue the study", interrupted[0])
    failed = [(index, code) for index, code in enumerate(codes, 1) if code != 0]
    if failed:
        index, code = failed[0]
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise WorkerFailed(f"worker {index} (process {workers[index - 1].pid}) {how}", code if code > 0 else 1)
