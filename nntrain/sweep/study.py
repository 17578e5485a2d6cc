"""The study a sweep shares through its storage: opening it, the trial budget, and what each trial was.

Any number of `nntrain sweep` processes, on one machine or many, share a study through its
storage (an SQLite file by default, PostgreSQL for several machines). The budget counts, in
the storage itself, every trial that has taken a place: finished, pruned, running, or failed
by its own training (diverged, bad data). Trials failed from outside (interrupted, or marked
failed by the heartbeat check because their worker died) give their place back and are run
again. A worker takes a trial only while places are left, and a trial whose lower-numbered
trials already fill the budget (two workers asked at the same moment) is given back unrun,
so the count never passes the target and nothing counts twice.
"""

import json
import time
from datetime import datetime
from pathlib import Path

from nntrain.errors import ConfigError
from nntrain.sweep import INSTALL, require_optuna

optuna = require_optuna()
TrialState = optuna.trial.TrialState

STORAGE_FILE = "study.db"
COUNTS = "counts"      # user attribute: a failed trial that keeps its place in the budget
REASON = "reason"      # user attribute: why the trial ended (stop reason, failure, interruption)
SKIPPED = "skipped"    # user attribute: a trial asked for when the budget was already full, given back unrun
_STATES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
           TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}
_ORDER = ["complete", "pruned", "running", "waiting", "failed", "skipped"]
STALE = "no heartbeat from its worker for the grace period (killed?); its place went to another trial"


def storage_url(url: str) -> str:
    """`postgresql://` uses psycopg 3 (what the extra installs), whichever driver SQLAlchemy would default to."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def shown_url(url: str, keep_password: bool = False) -> str:
    """A storage URL fit to print or to save: without its password (PostgreSQL reads ~/.pgpass or PGPASSWORD)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: opening it will say so
        return url
    return parsed.render_as_string(hide_password=False) if keep_password else \
        parsed.set(password=None).render_as_string(hide_password=False)


def open_storage(url: str, heartbeat_interval: int | None = None, grace_period: int | None = None):
    """Optuna's RDB storage at `url`, with heartbeats when given. Opening is tried three times, as processes
    started together on a new database race to create its tables."""
    url = storage_url(url)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    attempts = 1 if url.startswith("sqlite") else 3  # a file opens or it does not
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat_interval,
                                              grace_period=grace_period)
        except ImportError as exc:
            raise ConfigError(f"--storage {shown_url(url)}: {exc}; the sweep extra brings the PostgreSQL driver:\n"
                              f"{INSTALL}") from None
        except Exception as exc:  # SQLAlchemy's and Optuna's errors: a bad URL, a server that is not there
            if attempt == attempts - 1:
                problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(f"--storage {shown_url(url)}: cannot open the storage: {problem}") from None
            time.sleep(0.5 + attempt)


def open_study(storage, name: str, metric: str, mode: str, sampler, pruner):
    """The named study, created on first use; refused if it optimises another metric or direction."""
    direction = "minimize" if mode == "min" else "maximize"
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    recorded = study.user_attrs.get("metric")
    if recorded is None:
        study.set_user_attr("metric", metric)
    elif recorded != metric or study.direction.name.lower() != direction:
        raise ConfigError(f"study {name!r} in the storage optimises {recorded} ({study.direction.name.lower()}), "
                          f"this sweep {metric} ({direction}); choose another --study or dir")
    return study


def load_study(storage, name: str | None, source: str):
    """A study to read: the named one, or the storage's only one."""
    names = optuna.get_all_study_names(storage)
    if name is None:
        if len(names) != 1:
            listed = ", ".join(names) if names else "none"
            raise ConfigError(f"{source}: {'no study' if not names else 'several studies'} in the storage "
                              f"({listed}){'; pass --study NAME' if names else ''}")
        name = names[0]
    elif name not in names:
        raise ConfigError(f"{source}: no study {name!r} in the storage; it holds {', '.join(names) or 'none'}")
    return optuna.load_study(study_name=name, storage=storage)


def claims(trial) -> bool:
    """Whether a trial takes a place in the budget: finished, pruned, running, or failed by its own training."""
    if trial.state == TrialState.FAIL:
        return bool(trial.user_attrs.get(COUNTS))
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class Budget:
    """The number of trials a sweep runs in all, counted in the storage; also an Optuna callback that stops a
    worker once every place is taken."""

    def __init__(self, trials: int | None):
        self.trials = trials

    def left(self, study) -> float:
        if self.trials is None:
            return float("inf")
        return self.trials - sum(map(claims, study.get_trials(deepcopy=False)))

    def taken_before(self, study, number: int) -> bool:
        """Whether trials numbered below `number` already fill the budget."""
        if self.trials is None:
            return False
        return sum(claims(t) for t in study.get_trials(deepcopy=False) if t.number < number) >= self.trials

    def __call__(self, study, trial) -> None:
        if self.left(study) <= 0:
            study.stop()


def running(study) -> list:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def describe(trial) -> dict:
    """One trial as `sweep status` shows it."""
    end = trial.datetime_complete or datetime.now()
    reason = trial.user_attrs.get(REASON) or (STALE if trial.state == TrialState.FAIL else "")
    return {"number": trial.number, "state": _state(trial),
            "value": trial.value, "params": dict(trial.params),
            "epochs": trial.user_attrs.get("epochs", trial.last_step),
            "seconds": round((end - trial.datetime_start).total_seconds(), 3) if trial.datetime_start else None,
            "run_dir": trial.user_attrs.get("run_dir"), "reason": reason}


def _state(trial) -> str:
    if trial.state == TrialState.FAIL and trial.user_attrs.get(SKIPPED):
        return "skipped"
    return _STATES.get(trial.state, trial.state.name.lower())


def best_first(study) -> list:
    """The study's trials: completed best first, then pruned (best first), running, waiting, failed and skipped."""
    sign = 1 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1
    trials = study.get_trials(deepcopy=False)

    def key(trial):
        value = sign * trial.value if trial.value is not None else float("inf")
        return _ORDER.index(_state(trial)), value, trial.number

    return sorted(trials, key=key)


def find_study(source: str, name: str | None = None):
    """The study a sweep directory (its sweep.json, or its study.db) or a storage URL holds, opened to read."""
    if "://" in source:
        return load_study(open_storage(source), name, shown_url(source))
    folder = Path(source)
    if not folder.is_dir():
        raise ConfigError(f"{source}: no such sweep directory; pass SWEEP_DIR or a storage URL")
    record = folder / "sweep.json"
    if record.is_file():
        try:
            saved = json.loads(record.read_text(encoding="utf-8"))
            url, saved_name = saved["storage"], saved["study"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(f"{record}: unreadable; pass the storage URL instead (and --study)") from None
        return load_study(open_storage(url), name or saved_name, source)
    if (folder / STORAGE_FILE).is_file():
        return load_study(open_storage(f"sqlite:///{folder / STORAGE_FILE}"), name, source)
    raise ConfigError(f"{source} holds no sweep (no sweep.json or {STORAGE_FILE}); pass the directory a sweep "
                      "wrote, or its storage URL")
