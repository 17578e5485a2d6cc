"""MLflow tracking against a real `mlflow server` (SQLite backend, temp artifact root, 127.0.0.1, a free port),
read back with MlflowClient: params, every epoch's metrics, test metrics, stop reason, artifacts; resume; a dead server."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from nntrain.train.tracking.mlflow import SETTINGS, flattened, mlflow_settings

SERVER_DEADLINE = 300  # seconds for the server to answer: generous, a loaded 2-core host starts it slowly


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A `mlflow server` in its own process group, stopped by killing the group."""

    def __init__(self, root: Path):
        self.uri = f"http://127.0.0.1:{_free_port()}"
        self.log = root / "server.log"
        mlflow = Path(sys.executable).parent / "mlflow"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                 "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
                 "--port", self.uri.rsplit(":", 1)[1], "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"mlflow server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=10) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"mlflow server did not answer within {SERVER_DEADLINE}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("mlflow"))
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def _tracked(uri: str, experiment: str = "blobs") -> str:
    return f"output.tracking={{mlflow: {{uri: '{uri}', experiment: {experiment}}}, tensorboard: true}}"


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((metric.step, metric.value) for metric in client.get_metric_history(run_id, key))


def _assert_every_epoch_logged(client, run_id: str, run: Path) -> None:
    log = _log(run)
    keys = [key for key in log[0] if key not in ("epoch", "time")]
    assert {"loss", "val_loss", "val_accuracy", "val_f1", "lr", "seconds"} <= set(keys)
    for key in keys:
        assert _history(client, run_id, key) == [(row["epoch"], row[key]) for row in log], key


def test_fit_logs_the_run_to_mlflow_resume_continues_it_and_a_stopped_server_is_a_warning(
        cli, blobs_config, mlflow_server, tmp_path):
    from mlflow import MlflowClient

    config, run = blobs_config(epochs=3), tmp_path / "run"
    first = cli("fit", config, "--set", _tracked(mlflow_server.uri))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "warning" not in first.stderr  # MLflow's "View run" link is not the result
    summary = json.loads((run / "summary.json").read_text())
    run_id = json.loads((run / "mlflow.json").read_text())["run_id"]
    assert summary["tracking"]["mlflow"] == {"uri": mlflow_server.uri, "experiment": "blobs", "run_id": run_id}

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    logged = client.get_run(run_id)
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert logged.data.params == flattened(resolved)
    assert logged.data.params["optimizer.lr"] == "0.05" and logged.data.params["model.layers.0.units"] == "8"
    _assert_every_epoch_logged(client, run_id, run)
    assert {key: logged.data.metrics[f"test_{key}"] for key in summary["test"]} == summary["test"]
    assert _history(client, run_id, "test_accuracy") == [(3, summary["test"]["accuracy"])]
    assert logged.data.tags["stop_reason"] == "reached the epoch limit (training.epochs: 3)"
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    artifacts = {item.path for item in client.list_artifacts(run_id)}
    assert {"config.yaml", "metrics.jsonl", "metrics.csv", "summary.json", "best.npz", "last.npz", "test.csv",
            "mlflow.json", "tensorboard"} == artifacts
    assert len(client.list_artifacts(run_id, "tensorboard")) == 1
    copy = client.download_artifacts(run_id, "metrics.jsonl", str(tmp_path))
    assert Path(copy).read_bytes() == (run / "metrics.jsonl").read_bytes()

    resumed = cli("fit", config, "--resume", run, "--force", "--set", "training.epochs=5",
                  "--set", _tracked(mlflow_server.uri))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "mlflow.json").read_text())["run_id"] == run_id
    experiment = client.get_experiment_by_name("blobs")
    assert [found.info.run_id for found in client.search_runs([experiment.experiment_id])] == [run_id]
    _assert_every_epoch_logged(client, run_id, run)
    assert [step for step, _ in _history(client, run_id, "loss")] == [1, 2, 3, 4, 5]
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.tags["stop_reason"] == "reached the epoch limit (training.epochs: 5)"

    mlflow_server.stop()
    offline = cli("fit", config, "--resume", run, "--force", "--set", "training.epochs=6",
                  "--set", _tracked(mlflow_server.uri))
    assert offline.returncode == 0, offline.stderr
    warnings = [line for line in offline.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"output.tracking.mlflow: MLflow at {mlflow_server.uri}: " in warnings[0]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_run"] == 6 and len(_log(run)) == 6
    assert summary["tracking"]["mlflow"]["run_id"] == run_id
    assert "Max retries exceeded" in summary["tracking"]["mlflow"]["error"]


def test_a_server_that_is_not_there_is_a_warning_and_a_note_in_the_summary_not_a_lost_run(
        cli, blobs_config, tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    result = cli("fit", blobs_config(epochs=4), "--set", _tracked(uri, "nowhere"))
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert warning.startswith(f"warning: output.tracking.mlflow: MLflow at {uri}: MlflowException: ")
    assert warning.endswith("; the run goes on without it (see summary.json)")
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_run"] == 4 and len(_log(run)) == 4
    assert summary["tracking"]["mlflow"]["run_id"] is None
    assert f"API request to {uri}/api/2.0/mlflow/" in summary["tracking"]["mlflow"]["error"]
    assert not (run / "mlflow.json").exists()
    assert summary["tracking"]["tensorboard"] == {"dir": str(run / "tensorboard")}  # the other tracker goes on


def test_mlflow_requests_are_bounded_unless_the_user_set_their_own(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "99")
    with mlflow_settings():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == SETTINGS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "99"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ and os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "99"


def test_a_config_flattens_to_dotted_params():
    config = {"seed": 1, "model": {"layers": [{"type": "dense", "units": 8, "kernel": [3, 3]}]},
              "optimizer": {"lr": 0.05, "schedule": None}, "training": {"class_weight": {"sepal (cm)": 2.0},
                                                                      "stopping": []},
              "data": {"train": "x.csv", "columns": ["a", "b"]}}
    assert flattened(config) == {
        "seed": "1", "model.layers.0.type": "dense", "model.layers.0.units": "8", "model.layers.0.kernel": "[3, 3]",
        "optimizer.lr": "0.05", "optimizer.schedule": "null", "training.class_weight.sepal _cm_": "2.0",
        "training.stopping": "[]", "data.train": "x.csv", "data.columns": "[\"a\", \"b\"]"}
    assert flattened({"note": "x" * 7000})["note"] == "x" * 5999 + "…"
