"""Plain-text progress through the real CLI: `training.log_every` / `--log-every` thin the epoch lines, not the logs."""

import json
import re

import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what fit prints and saves (see `cli_in_process`)."""
    return cli_in_process


def _config(write, blobs_csv, tmp_path, training: str = ""):
    """Blobs with a high learning rate: val_loss improves over the first few epochs only, so the improving
    epochs are not the multiples of 3 and the thinned log shows both rules."""
    return write("progress.yaml", f"""
        seed: 1
        data:
          train: {blobs_csv}
          target: label
          pipeline:
            - {{type: normalize}}
        model:
          layers:
            - {{type: dense, units: 8, activation: relu}}
        optimizer: {{type: adam, lr: 0.3}}
        training: {{epochs: 11, batch_size: 16, monitor: val_loss{training}}}
        output: {{dir: {tmp_path / 'run'}}}
        """)


def _printed_epochs(stderr: str) -> list[int]:
    return [int(match) for match in re.findall(r"^epoch +(\d+)/11 ", stderr, flags=re.M)]


def _improving_epochs(log: list[dict]) -> list[int]:
    best, improving = None, []
    for row in log:
        if best is None or row["val_loss"] < best:
            best = row["val_loss"]
            improving.append(row["epoch"])
    return improving


def test_log_every_prints_every_nth_the_improving_and_the_last_epoch(cli, write, blobs_csv, tmp_path):
    result = cli("fit", _config(write, blobs_csv, tmp_path, ", log_every: 3"))
    assert result.returncode == 0, result.stderr
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == list(range(1, 12))  # the log keeps every epoch
    csv_rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 11
    improving = _improving_epochs(log)
    expected = sorted({1, 3, 6, 9, 11} | set(improving))
    assert _printed_epochs(result.stderr) == expected
    assert set(improving) - {1, 3, 6, 9, 11}, "the case should have an improving epoch off the every-3 grid"
    assert len(expected) < 11, "the case should leave some epochs out"
    improved_lines = [int(m) for m in re.findall(r"^epoch +(\d+)/11 .*  \*$", result.stderr, flags=re.M)]
    assert improved_lines == improving


def test_log_every_option_overrides_the_config_and_default_prints_every_epoch(cli, write, blobs_csv, tmp_path):
    config = _config(write, blobs_csv, tmp_path, ", log_every: 1")
    every = cli("fit", config)
    assert every.returncode == 0, every.stderr
    assert _printed_epochs(every.stderr) == list(range(1, 12))
    thinned = cli("fit", config, "--overwrite", "--log-every", "5", "--set", "training.log_every=2")
    assert thinned.returncode == 0, thinned.stderr
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert _printed_epochs(thinned.stderr) == sorted({1, 5, 10, 11} | set(_improving_epochs(log)))
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "log_every: 5" in saved


def test_log_every_must_be_a_positive_integer(cli, write, blobs_csv, tmp_path):
    for value, fragment in [("0", "must be a positive integer, got 0"), ("'3'", "integer"), ("2.5", "integer")]:
        result = cli("fit", _config(write, blobs_csv, tmp_path, f", log_every: {value}"))
        assert result.returncode == 2, (value, result.stderr)
        assert "training.log_every" in result.stderr and fragment in result.stderr, result.stderr
    result = cli("fit", _config(write, blobs_csv, tmp_path), "--log-every", "0")
    assert result.returncode == 2 and "--log-every" in result.stderr


def test_resuming_with_another_log_every_is_not_a_config_change(cli, write, blobs_csv, tmp_path):
    config = _config(write, blobs_csv, tmp_path)
    assert cli("fit", config).returncode == 0
    (tmp_path / "run" / "summary.json").unlink()  # as an interrupted run leaves it
    result = cli("fit", config, "--resume", tmp_path / "run", "--log-every", "4")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr and "differs" not in result.stderr
