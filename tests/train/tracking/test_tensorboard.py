"""TensorBoard event files, read back with TensorBoard's own EventAccumulator, hold every epoch's scalars."""

import json
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what fit writes to the event files (see `cli_in_process`)."""
    return cli_in_process


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def _expected(run: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl's values as TensorBoard holds scalars: float32."""
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    keys = [key for key in log[0] if key not in ("epoch", "time")]
    return {key: [(row["epoch"], float(np.float32(row[key]))) for row in log] for key in keys}


def test_every_epoch_and_the_test_metrics_are_in_the_event_files_and_resume_adds_to_them(cli, blobs_config,
                                                                                          tmp_path):
    config, run = blobs_config(epochs=3), tmp_path / "run"
    first = cli("fit", config, "--set", "output.tracking.tensorboard=true")
    assert first.returncode == 0, first.stderr
    scalars = _scalars(run / "tensorboard")
    summary = json.loads((run / "summary.json").read_text())
    test = {f"test_{key}": [(3, float(np.float32(value)))] for key, value in summary["test"].items()}
    assert {"loss", "val_loss", "val_accuracy", "val_f1", "lr", "seconds"} <= set(_expected(run))
    assert scalars == {**_expected(run), **test}
    assert summary["tracking"] == {"tensorboard": {"dir": str(run / "tensorboard")}}

    resumed = cli("fit", config, "--resume", run, "--force", "--set", "training.epochs=5",
                  "--set", "output.tracking.tensorboard=true")
    assert resumed.returncode == 0, resumed.stderr
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2
    scalars = _scalars(run / "tensorboard")
    assert {key: scalars[key] for key in _expected(run)} == _expected(run)
    assert [step for step, _ in scalars["loss"]] == [1, 2, 3, 4, 5]

    fresh = cli("fit", config, "--overwrite", "--set", "training.epochs=2", "--set", "output.tracking.tensorboard=true")
    assert fresh.returncode == 0, fresh.stderr
    assert [step for step, _ in _scalars(run / "tensorboard")["loss"]] == [1, 2]  # the earlier run's curves are gone
