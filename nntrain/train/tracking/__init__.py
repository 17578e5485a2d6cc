"""Experiment tracking: each epoch's record and the run's end, sent to MLflow or TensorBoard as the run trains.

A backend (`mlflow.py`, `tensorboard.py`) implements `Tracker`; `TRACKERS` maps each key of
`output.tracking` to its class. Tracking fails soft: `Tracking` calls every backend inside a guard,
so one that fails (a server that is down, or goes down) costs a warning and a note in summary.json,
never the run, and is left out for the rest of the session, so a dead server is waited for once.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from nntrain.train.tracking.mlflow import MlflowTracker
from nntrain.train.tracking.tensorboard import TensorBoardTracker


class Tracker(Protocol):
    """A tracking backend, built from its `output.tracking` value and the run directory; its static
    `require()` imports its optional extra (or raises the ConfigError saying how to install it)."""

    where: str
    """Where it logs, as a warning names it (`MLflow at http://127.0.0.1:5000`)."""

    def start(self, config: dict, resuming: bool) -> None:
        """Open (or, resuming, reopen) where the run is tracked; `config` is the resolved config."""

    def epoch(self, record: dict) -> None:
        """One finished epoch, as metrics.jsonl records it."""

    def end(self, status: str, summary: dict) -> None:
        """The run ended: `status` is finished, diverged, failed or interrupted; `summary` as summary.json has it."""

    def describe(self) -> dict:
        """Where the run is tracked, for summary.json."""


TRACKERS: dict[str, type] = {
    "mlflow": MlflowTracker,
    "tensorboard": TensorBoardTracker,
}


def enabled(spec) -> dict:
    """The `output.tracking` values that ask for a tracker, by name."""
    return {name: value for name in TRACKERS if (value := getattr(spec, name))}


def require_trackers(spec) -> None:
    """Refuse a config whose trackers' optional extras are not installed (a ConfigError with the pip line)."""
    for name in enabled(spec):
        TRACKERS[name].require()


class Tracking:
    """The trackers a config asks for, each called so that its failure is a warning, not the run's."""

    def __init__(self, spec, run_dir: Path, warn: Callable[[str], None]):
        self.trackers: dict[str, Tracker] = {name: TRACKERS[name](value, Path(run_dir))
                                             for name, value in enabled(spec).items()}
        self.warn = warn
        self.failures: dict[str, str] = {}
        self.started = False

    def start(self, config: dict, resuming: bool) -> None:
        self.started = True
        self._each("start", config, resuming)

    def epoch(self, record: dict) -> None:
        self._each("epoch", record)

    def end(self, status: str, summary: dict) -> None:
        if self.started:  # a run can fail before tracking starts (writing test.csv)
            self._each("end", status, summary)

    def summary(self) -> dict:
        """What summary.json says under `tracking`: where each tracker logged, and why it stopped if it failed."""
        return {name: {**tracker.describe(), **({"error": self.failures[name]} if name in self.failures else {})}
                for name, tracker in self.trackers.items()}

    def _each(self, method: str, *args) -> None:
        for name, tracker in self.trackers.items():
            if name in self.failures:
                continue
            try:
                getattr(tracker, method)(*args)
            except Exception as exc:  # noqa: BLE001 - whatever a tracking library raises, the run goes on
                self.failures[name] = _brief(exc)
                self.warn(f"output.tracking.{name}: {tracker.where}: {self.failures[name]}; "
                          "the run goes on without it (see summary.json)")


def _brief(exc: Exception, limit: int = 300) -> str:
    """An exception as one short line: tracking libraries' messages can run to pages of retries."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 1] + "…"
