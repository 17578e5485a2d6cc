"""What a run records through the CLI: summaries for every ending, wall-clock time, resume hints and checks."""

import errno
import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nntrain.cli import app


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what fit says and writes (see `cli_in_process`)."""
    return cli_in_process


def summary_of(run):
    return json.loads((run / "summary.json").read_text())


def test_seconds_and_max_time_count_the_whole_fit_including_checkpoint_writes(blobs_config, tmp_path, monkeypatch):
    import time

    import nntrain.files as files

    real_fsync = files.os.fsync

    def slow_fsync(descriptor):  # every checkpoint write now takes at least 0.1 s of wall time
        time.sleep(0.05)
        return real_fsync(descriptor)

    monkeypatch.setattr(files.os, "fsync", slow_fsync)
    result = CliRunner().invoke(app, ["fit", str(blobs_config(epochs=1000)), "--set",
                                      "training.stopping={type: max_time, limit: 1s}"])
    assert result.exit_code == 0, result.output
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"].startswith("time budget of 1s used")
    # with the saving time left out, 1 s of these tiny epochs would be hundreds of epochs
    assert summary["epochs_run"] <= 10
    assert summary["seconds"] >= 0.1 * summary["epochs_run"] and summary["seconds"] >= 1.0
    assert summary["train_seconds"] < summary["seconds"]


def test_the_resume_hint_after_an_interrupt_resumes_as_printed(cli, blobs_config, tmp_path, monkeypatch,
                                                               shell_command):
    from nntrain.train.loop import Trainer

    original = Trainer._train_epoch

    def interrupt_in_epoch_3(self, x, y, steps):
        if self.epoch == 2:
            self.stop.exit_code = 130  # what the SIGINT handler sets
        return original(self, x, y, steps)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupt_in_epoch_3)
    config = blobs_config(epochs=6)
    result = CliRunner().invoke(app, ["fit", str(config), "--set", "optimizer.lr=0.02", "--set", "training.epochs=5"])
    assert result.exit_code == 130
    command = result.stderr.split("Continue with: ", 1)[1].strip()
    assert command == f"nntrain fit {tmp_path / 'run' / 'config.yaml'} --resume {tmp_path / 'run'}"
    assert not (tmp_path / "run" / "summary.json").exists()
    resumed = subprocess.run(shell_command + command.removeprefix("nntrain"), shell=True, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and summary_of(tmp_path / "run")["epochs_run"] == 5


def test_a_diverged_run_writes_its_summary_and_runs_lists_it(cli, write, tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100) * 1e3}).to_csv(tmp_path / "d.csv", index=False)
    config = write("d.yaml", f"""
        data: {{train: {tmp_path / 'd.csv'}, target: y, target_transform: none}}
        optimizer: {{type: sgd, lr: 10.0}}
        training: {{epochs: 50}}
        output: {{dir: {tmp_path / 'runs' / 'boom'}}}
        """)
    result = cli("fit", config)
    assert result.returncode == 4
    summary = summary_of(tmp_path / "runs" / "boom")
    assert summary["status"] == "diverged" and summary["stop_reason"].startswith("training diverged at epoch")
    assert isinstance(summary["epoch"], int) and isinstance(summary["step"], int)
    assert f"epoch {summary['epoch']}, step {summary['step']}" in summary["stop_reason"]
    listed = json.loads(cli("runs", tmp_path / "runs", "--json").stdout)
    assert [(run["status"], run["stop_reason"]) for run in listed] == [("diverged", summary["stop_reason"])]
    table = cli("runs", tmp_path / "runs").stdout
    assert "boom" in table and "diverged" in table


def test_the_plateau_rule_names_the_same_best_epoch_as_the_summary(cli, blobs_config, tmp_path):
    result = cli("fit", blobs_config(epochs=300), "--set",
                 "training.stopping={monitor: val_loss, patience: 3, min_delta: 0.05}")
    assert result.returncode == 0, result.stderr
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"].startswith("val_loss has not improved for 3 epochs (by more than 0.05; best ")
    assert summary["stop_reason"].endswith(f"at epoch {summary['best_epoch']})")
    assert f"best {summary['best_value']:.6g} at" in summary["stop_reason"]


def test_a_full_disk_while_writing_the_test_copy_or_the_log(blobs_config, tmp_path, monkeypatch):
    import nntrain.files as files

    real_open = open

    def failing(name):
        def fake_open(path, mode="r", *args, **kwargs):
            if name in str(path) and ("w" in mode or "a" in mode):
                handle = real_open(path, mode, *args, **kwargs)
                write = handle.write

                def full(data):  # a partial write, then the disk is full
                    write(data[:1])
                    raise OSError(errno.ENOSPC, "No space left on device")
                handle.write = full
                return handle
            return real_open(path, mode, *args, **kwargs)
        return fake_open

    monkeypatch.setattr(files, "open", failing("test.csv"), raising=False)
    result = CliRunner().invoke(app, ["fit", str(blobs_config())])
    assert result.exit_code == 3
    assert f"could not write {tmp_path / 'run' / 'test.csv'}: No space left on device" in result.stderr
    assert not (tmp_path / "run" / "test.csv").exists() and not list((tmp_path / "run").glob(".tmp-*"))

    monkeypatch.setattr(files, "open", failing("metrics.csv"), raising=False)
    result = CliRunner().invoke(app, ["fit", str(blobs_config()), "--overwrite"])
    assert result.exit_code == 5
    assert f"could not write {tmp_path / 'run' / 'metrics.csv'}: No space left on device" in result.stderr
    assert (tmp_path / "run" / "metrics.csv").read_bytes() == b""  # cut back to what it held before


def test_resume_refuses_training_rows_that_changed(cli, blobs_config, blobs_csv, tmp_path):
    config = blobs_config(epochs=2).read_text().replace("pipeline:\n    - {type: normalize}", "pipeline: []")
    (tmp_path / "c.yaml").write_text(config)
    assert cli("fit", tmp_path / "c.yaml").returncode == 0
    (tmp_path / "run" / "summary.json").unlink()  # as if it had been interrupted
    frame = pd.read_csv(blobs_csv)
    frame.loc[[0, 1], "label"] = frame.loc[[1, 0], "label"].to_numpy()  # same statistics, other rows
    frame.loc[[0, 1], "label"] = ["c", "b"]
    frame.to_csv(blobs_csv, index=False)
    result = cli("fit", tmp_path / "c.yaml", "--resume", "auto")
    assert result.returncode == 2 and "the training data differs" in result.stderr, result.stderr


def test_batchnorm_with_single_row_batches_is_warned_about(cli, blobs_config):
    result = cli("fit", blobs_config(epochs=1), "--set", "training.batch_size=1",
                 "--set", "model.layers=[{type: dense, units: 4}, {type: batchnorm}]")
    assert result.returncode == 0, result.stderr
    assert "warning: every batch has a single row, so batchnorm normalises it to 0" in result.stderr
