"""MLflow tracking: the resolved config as params, each epoch's metrics (step = epoch), the test metrics,
the stop reason and, when the run finishes, the run directory's files as artifacts.

The MLflow run's id is kept in the run directory (`mlflow.json`, plain JSON), so `fit --resume`
continues the same MLflow run. Requests are bounded (2 retries, a 10 s timeout) unless the
user's own MLFLOW_HTTP_REQUEST_* variables say otherwise: a server that is down must not hold up
training for minutes, as MLflow's defaults (7 retries, 120 s timeout) would.
"""

import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

from nntrain.extras import require

ID_FILE = "mlflow.json"
# MLflow's own defaults retry for minutes; these fail within seconds when the server is down. And MLflow
# prints the run's link on stdout, which is nntrain's result.
SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
_STATUS = {"finished": "FINISHED", "diverged": "FAILED", "failed": "FAILED", "interrupted": "KILLED"}
_PARAMS_PER_BATCH, _PARAM_LENGTH = 100, 6000  # MLflow's limits on one log_batch request and one param value
_REFUSED_IN_KEYS = re.compile(r"[^\w.\- /]")


class MlflowTracker:
    def __init__(self, spec, run_dir: Path):
        self.uri, self.experiment = spec.uri, spec.experiment
        self.run_dir = run_dir
        self.run_id: str | None = None
        self.client = None

    @staticmethod
    def require():
        return require("mlflow", extra="tracking", needed_by="output.tracking.mlflow", package="the MLflow client")

    @property
    def where(self) -> str:
        return f"MLflow at {self.uri}"

    def describe(self) -> dict:
        return {"uri": self.uri, "experiment": self.experiment, "run_id": self.run_id}

    def start(self, config: dict, resuming: bool) -> None:
        mlflow = self.require()
        from mlflow.entities import Param
        stored = self._stored() if resuming else None
        if not resuming:
            (self.run_dir / ID_FILE).unlink(missing_ok=True)  # an earlier run's id must not be continued
        with mlflow_settings():
            self.client = mlflow.MlflowClient(tracking_uri=self.uri)
            if stored:
                self.run_id = stored
                self.client.update_run(self.run_id, status="RUNNING")
                return
            run = self.client.create_run(self._experiment_id(), run_name=self.run_dir.name,
                                         tags={"nntrain.run_dir": str(self.run_dir.resolve())})
            self.run_id = run.info.run_id
            (self.run_dir / ID_FILE).write_text(json.dumps({"uri": self.uri, "run_id": self.run_id}) + "\n")
            params = [Param(key, value) for key, value in flattened(config).items()]
            for first in range(0, len(params), _PARAMS_PER_BATCH):
                self.client.log_batch(self.run_id, params=params[first:first + _PARAMS_PER_BATCH])

    def epoch(self, record: dict) -> None:
        self._log_metrics({key: value for key, value in record.items() if key != "epoch"}, record["epoch"])

    def end(self, status: str, summary: dict) -> None:
        with mlflow_settings():
            if "test" in summary:
                self._log_metrics({f"test_{name}": value for name, value in summary["test"].items()},
                                  summary["epochs_run"])
            if "stop_reason" in summary:
                self.client.set_tag(self.run_id, "stop_reason", summary["stop_reason"][:8000])
            if status == "finished":
                for path in sorted(self.run_dir.rglob("*")):
                    if path.is_file() and not path.name.startswith("."):  # not the run's lock
                        folder = path.parent.relative_to(self.run_dir).as_posix()
                        self.client.log_artifact(self.run_id, str(path), None if folder == "." else folder)
            self.client.set_terminated(self.run_id, status=_STATUS[status])

    def _log_metrics(self, values: dict, step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [Metric(key, float(value), stamp, step) for key, value in values.items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)]
        with mlflow_settings():
            self.client.log_batch(self.run_id, metrics=metrics)

    def _experiment_id(self) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(self.experiment)
        if found:
            return found.experiment_id
        try:
            return self.client.create_experiment(self.experiment)
        except MlflowException:  # created meanwhile by another run (a sweep's trials)
            found = self.client.get_experiment_by_name(self.experiment)
            if not found:
                raise
            return found.experiment_id

    def _stored(self) -> str | None:
        """The MLflow run this run directory was logged to at this URI, if any."""
        try:
            stored = json.loads((self.run_dir / ID_FILE).read_text())
        except (OSError, ValueError):
            return None
        return stored.get("run_id") if isinstance(stored, dict) and stored.get("uri") == self.uri else None


@contextmanager
def mlflow_settings():
    """MLflow's variables set to SETTINGS for a call, except those the user set; restored after."""
    added = [name for name in SETTINGS if name not in os.environ]
    os.environ.update({name: SETTINGS[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def flattened(config: dict, prefix: str = "") -> dict[str, str]:
    """A resolved config as MLflow params: dotted keys (`optimizer.lr`, `model.layers.0.units`), values as text.

    Mappings and lists of mappings are flattened; other lists are one JSON value. Characters MLflow
    refuses in a key (a column name's parentheses) become `_`, and a value is cut to MLflow's limit.
    """
    items = config.items() if isinstance(config, dict) else enumerate(config)
    params = {}
    for key, value in items:
        name = prefix + _REFUSED_IN_KEYS.sub("_", str(key))
        if (isinstance(value, dict) and value) or (isinstance(value, list) and value
                                                   and all(isinstance(item, dict) for item in value)):
            params.update(flattened(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            params[name] = text if len(text) <= _PARAM_LENGTH else text[:_PARAM_LENGTH - 1] + "…"
    return params
