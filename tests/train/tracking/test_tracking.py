"""Tracking as a whole: the registry agrees with the schema, a missing extra is refused before training with
the pip line, and a tracker that fails mid-run (through the Python API) costs a warning, never the run."""

import json

import nntrain
from nntrain.config.schema import Tracking as TrackingSpec
from nntrain.train import tracking
from nntrain.train.progress import Reporter


def test_every_tracking_key_has_a_tracker_and_every_tracker_a_key():
    assert set(TrackingSpec.model_fields) == set(tracking.TRACKERS)


def _hide(tmp_path, package: str):
    """A PYTHONPATH on which `package` cannot be imported, as if its extra were not installed."""
    hidden = tmp_path / "hidden" / package
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text(f"raise ImportError(\"No module named '{package}'\")\n")
    return {"PYTHONPATH": str(hidden.parent)}


def test_a_tracker_without_its_extra_is_refused_with_the_pip_line_before_training(cli, blobs_config, tmp_path):
    config = blobs_config(epochs=2)
    mlflow = cli("fit", config, "--set", "output.tracking.mlflow={uri: 'http://127.0.0.1:5000'}",
                 env=_hide(tmp_path, "mlflow"))
    assert mlflow.returncode == 2, mlflow.stderr
    assert "output.tracking.mlflow needs the MLflow client, an optional extra; install it with:" in mlflow.stderr
    assert "pip install 'nntrain[tracking]'" in mlflow.stderr.splitlines()
    assert not (tmp_path / "run").exists()
    board = cli("check", config, "--set", "output.tracking.tensorboard=true", env=_hide(tmp_path, "tensorboard"))
    assert board.returncode == 2, board.stderr
    assert "output.tracking.tensorboard needs TensorBoard, an optional extra" in board.stderr
    assert "pip install 'nntrain[tensorboard]'" in board.stderr.splitlines()


class _Warnings(Reporter):
    def __init__(self):
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


class _FailsAtEpoch2:
    """A tracker whose destination goes away after the first epoch."""

    seen: list = []
    where = "the flaky tracker"

    def __init__(self, spec, run_dir):
        pass

    @staticmethod
    def require():
        return None

    def describe(self):
        return {"to": "nowhere"}

    def start(self, config, resuming):
        self.seen.append("start")

    def epoch(self, record):
        self.seen.append(record["epoch"])
        if record["epoch"] == 2:
            raise ConnectionError("the server went away")

    def end(self, status, summary):
        self.seen.append(status)


def test_a_tracker_failing_mid_run_is_warned_about_once_and_dropped_and_the_api_run_finishes(blobs_config, tmp_path,
                                                                                              monkeypatch):
    monkeypatch.setitem(tracking.TRACKERS, "tensorboard", _FailsAtEpoch2)
    monkeypatch.setattr(_FailsAtEpoch2, "seen", [])
    progress = _Warnings()
    run = nntrain.fit(blobs_config(epochs=4), overrides={"output.tracking.tensorboard": True}, progress=progress)
    assert _FailsAtEpoch2.seen == ["start", 1, 2]  # not called again after failing: a dead server is waited for once
    assert progress.warnings == ["output.tracking.tensorboard: the flaky tracker: ConnectionError: the server went "
                                 "away; the run goes on without it (see summary.json)"]
    assert run.summary["status"] == "finished" and run.summary["epochs_run"] == 4
    assert run.summary["tracking"] == {"tensorboard": {"to": "nowhere",
                                                       "error": "ConnectionError: the server went away"}}
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["tracking"] == run.summary["tracking"]


def test_a_run_without_tracking_has_no_tracking_in_its_summary(blobs_config, tmp_path):
    run = nntrain.fit(blobs_config(epochs=1))
    assert "tracking" not in run.summary and not (tmp_path / "run" / "tensorboard").exists()
