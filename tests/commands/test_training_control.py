"""Training control through the real CLI: stopping rules, resume, interrupts, kills, divergence, plots."""

import json
import os
import random
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from nntrain.train.checkpoint import load_checkpoint


def summary_of(run):
    return json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("rule,reason", [
    ("{monitor: val_loss, patience: 2, min_delta: 0.05}", "val_loss has not improved for 2 epochs"),
    ("{type: target, monitor: val_accuracy, value: 0.9}", "val_accuracy reached the target: "),
    ("{type: max_time, limit: 0.001}", "time budget of 0.001 used"),
])
def test_each_stopping_rule_fires_and_logs_its_reason(cli_in_process, blobs_config, tmp_path, rule, reason):
    result = cli_in_process("fit", blobs_config(epochs=200), "--set", f"training.stopping={rule}")
    assert result.returncode == 0, result.stderr
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"].startswith(reason)
    assert summary["epochs_run"] < 200
    assert reason in result.stderr


def test_first_rule_to_fire_wins(cli_in_process, blobs_config, tmp_path):
    rules = "[{type: max_time, limit: 1h}, {type: target, monitor: val_accuracy, value: 0.5}]"
    assert cli_in_process("fit", blobs_config(epochs=50), "--set", f"training.stopping={rules}").returncode == 0
    assert summary_of(tmp_path / "run")["stop_reason"].startswith("val_accuracy reached the target")


@pytest.fixture
def long_config(write, tmp_path):
    """Enough steps per epoch that a signal lands mid-epoch; dropout and shuffling on."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 10))
    label = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(3000, 3)), axis=1)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(10)]).round(5)
    frame["label"] = np.array(["a", "b", "c"])[label]
    frame.to_csv(tmp_path / "long.csv", index=False)
    return write("long.yaml", f"""
        seed: 4
        data: {{train: {tmp_path / 'long.csv'}, target: label, pipeline: [{{type: normalize}}]}}
        model:
          layers:
            - {{type: dense, units: 64, activation: relu}}
            - {{type: dropout, rate: 0.3}}
            - {{type: dense, units: 32, activation: relu}}
        optimizer: {{type: adam, lr: 0.002, schedule: {{type: cosine, warmup_epochs: 1}}}}
        training: {{epochs: 12, batch_size: 8}}
        output: {{dir: {tmp_path / 'unused'}}}
        """)


def _entry():
    from pathlib import Path

    script = Path(sys.executable).parent / "nntrain"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nntrain"]


def _start(args):
    return subprocess.Popen([*_entry(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})


def _wait_for_epochs(run, count, process, timeout=600):
    deadline = time.monotonic() + timeout
    log = run / "metrics.jsonl"
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.stderr.read()}")
        time.sleep(0.005)
    raise AssertionError("training did not reach the expected epoch")


def _log_without_times(run):
    return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "time")}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(cli, long_config, tmp_path, signum, code):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert cli("fit", long_config, "--set", f"output.dir={straight}").returncode == 0

    process = _start(["fit", long_config, "--set", f"output.dir={stopped}"])
    _wait_for_epochs(stopped, 2, process)
    time.sleep(random.uniform(0, 0.05))  # land anywhere in the epoch
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == code, stderr
    assert f"saved {stopped / 'last.npz'}" in stderr and f"--resume {stopped}" in stderr
    interrupted_at = load_checkpoint(stopped / "last.npz")[0]["training"]
    assert not (stopped / "summary.json").exists()

    resumed = cli("fit", long_config, "--set", f"output.dir={stopped}", "--resume", stopped)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {stopped} from last.npz at epoch {interrupted_at['epoch'] + 1}" in resumed.stderr
    for name in ("last.npz", "best.npz"):
        expected, actual = load_checkpoint(straight / name)[1], load_checkpoint(stopped / name)[1]
        assert expected.keys() == actual.keys()
        for key in expected:
            assert np.array_equal(expected[key], actual[key]), (name, key)
    assert _log_without_times(stopped) == _log_without_times(straight)
    assert summary_of(stopped)["test"] == summary_of(straight)["test"]


def test_resume_refuses_a_changed_config_a_missing_run_and_a_finished_run(cli_in_process, blobs_config, tmp_path):
    config = blobs_config()
    assert cli_in_process("fit", config, "--set", "training.epochs=3").returncode == 0
    run = tmp_path / "run"
    finished = cli_in_process("fit", config, "--set", "training.epochs=3", "--resume", "auto")
    assert finished.returncode == 2 and "already finished (reached the epoch limit" in finished.stderr
    (run / "summary.json").unlink()
    changed = cli_in_process("fit", config, "--set", "training.epochs=5", "--set", "optimizer.lr=0.1",
                             "--resume", "auto")
    assert changed.returncode == 2
    assert "training.epochs: 3 -> 5" in changed.stderr and "optimizer.lr: 0.05 -> 0.1" in changed.stderr
    forced = cli_in_process("fit", config, "--set", "training.epochs=5", "--resume", "auto", "--force")
    assert forced.returncode == 0, forced.stderr
    assert summary_of(run)["epochs_run"] == 5
    assert [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]
    missing = cli_in_process("fit", config, "--resume", tmp_path / "nowhere")
    assert missing.returncode == 2 and "has no last.npz to resume from (the directory does not exist)" in missing.stderr


def test_checkpoint_every_and_keep_and_fallback_when_last_is_damaged(cli, blobs_config, tmp_path):
    config = blobs_config()
    run = tmp_path / "run"
    process = _start(["fit", config, "--set", "training.epochs=200", "--set", "training.checkpoint={every: 2, keep: 2}",
                      "--set", "training.batch_size=1"])
    _wait_for_epochs(run, 7, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=600)
    kept = sorted(p.name for p in run.glob("epoch-*.npz"))
    assert len(kept) == 2 and all(int(name[6:10]) % 2 == 0 for name in kept)
    newest = int(kept[-1][6:10])
    (run / "last.npz").write_bytes(b"garbage")
    explicit = cli("fit", config, "--set", "training.epochs=200", "--set", "training.checkpoint={every: 2, keep: 2}",
                   "--set", "training.batch_size=1", "--resume", run, "--set", "training.stopping={type: max_time, limit: 0.01}")
    assert explicit.returncode == 5 and "last.npz is damaged or not an nntrain checkpoint" in explicit.stderr
    auto = cli("fit", config, "--set", "training.epochs=200", "--set", "training.checkpoint={every: 2, keep: 2}",
               "--set", "training.batch_size=1", "--resume", "auto", "--force",
               "--set", "training.stopping={type: max_time, limit: 0.01}")
    assert auto.returncode == 0, auto.stderr
    assert f"falling back to {kept[-1]}" in auto.stderr
    assert f"at epoch {newest + 1}, batch 1" in auto.stderr


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_loadable_checkpoints(cli, write, tmp_path):
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(64, 50))).assign(label=rng.integers(0, 3, 64)).to_csv(tmp_path / "k.csv",
                                                                                        index=False)
    config = write("k.yaml", f"""
        data: {{train: {tmp_path / 'k.csv'}, target: label, split: {{validation: 0.25, test: 0}}}}
        model: {{layers: [{{type: dense, units: 400, activation: relu}}, {{type: dense, units: 400}}]}}
        training: {{epochs: 100000, batch_size: 64}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    run = tmp_path / "run"
    random.seed(0)
    for trial in range(12):  # each a new process killed at a random moment of its loop
        before = (run / "last.npz").stat().st_ino if (run / "last.npz").exists() else None
        args = ["fit", config] + (["--resume", "auto"] if before else ["--overwrite"])
        process = _start(args)
        while not (run / "last.npz").exists() or (run / "last.npz").stat().st_ino == before:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.002)  # wait until this process has written a checkpoint: it is in its loop now
        time.sleep(random.uniform(0, 0.3))
        process.kill()
        process.communicate()
        meta, _ = load_checkpoint(run / "last.npz")  # never a torn file
        assert meta["kind"] == "last"
        if (run / "best.npz").exists():
            load_checkpoint(run / "best.npz")
    finisher = cli("fit", config, "--resume", "auto", "--set", "training.stopping={type: max_time, limit: 0.01}",
                   "--force")
    assert finisher.returncode == 0, finisher.stderr
    assert not list(run.glob(".tmp-*"))  # leftovers from killed writes are cleaned up


def test_divergence_after_good_epochs_keeps_the_best_checkpoint(cli_in_process, write, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=200)}).to_csv(
        tmp_path / "reg.csv", index=False)
    config = write("r.yaml", f"""
        seed: 1
        data: {{train: {tmp_path / 'reg.csv'}, target: y, pipeline: [{{type: normalize}}]}}
        optimizer: {{type: sgd, lr: 1.1}}   # just past the stable step size: a slow, finite blow-up
        training: {{epochs: 40, batch_size: 20}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = cli_in_process("fit", config)
    assert result.returncode == 4, result.stderr
    assert "exceeds 100 × the first step's" in result.stderr
    epoch = int(result.stderr.split("diverged at epoch ")[1].split(",")[0])
    assert epoch > 1
    run = tmp_path / "run"
    best, _ = load_checkpoint(run / "best.npz")
    last, arrays = load_checkpoint(run / "last.npz")
    assert best["epoch"] < epoch and last["epoch"] == epoch - 1
    assert all(np.isfinite(value).all() for value in arrays.values())
    assert len((run / "metrics.jsonl").read_text().splitlines()) == epoch - 1


def test_plot_writes_a_png_of_the_curves(cli, blobs_config, tmp_path):
    assert cli("fit", blobs_config(), "--set", "training.epochs=5").returncode == 0
    result = cli("plot", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "run" / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1100, 400) and len(png) > 20_000


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, tmp_path):
    from nntrain.commands.display import Display
    from nntrain.commands.plot import plot
    from nntrain.errors import ConfigError

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1, "loss": 1.0}\n')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError, match=r"pip install 'nntrain\[plot\]'"):
        plot(str(tmp_path), Display(quiet=True))
