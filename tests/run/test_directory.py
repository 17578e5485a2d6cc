"""Run directories through the CLI: one fit at a time per directory, and check probing what fit would create."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: what the later fit or check says (see `cli_in_process`); a lock's holder is a real process."""
    return cli_in_process


def _start(args, cwd=None):
    script = Path(sys.executable).parent / "nntrain"
    return subprocess.Popen([str(script), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "NO_COLOR": "1"}, cwd=cwd)


def _wait_until_training(run: Path, process) -> None:
    """Until the first epoch is logged: the fit holds its lock for as long as it runs."""
    deadline = time.monotonic() + 600
    while not (run / "metrics.jsonl").exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the first fit never started training"
        time.sleep(0.01)


@pytest.fixture
def running_fit(blobs_config, tmp_path):
    """A long fit into tmp_path/run, stopped (SIGINT, so it saves) when the test is done with it."""
    config = blobs_config(epochs=100000)
    process = _start(["fit", config, "--set", "training.batch_size=1"])
    _wait_until_training(tmp_path / "run", process)
    yield config, process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    process.communicate(timeout=600)


def test_a_second_fit_into_a_run_directory_in_use_is_refused_naming_the_process(cli, running_fit, tmp_path):
    config, first = running_fit
    for extra in ([], ["--overwrite"], ["--resume", "auto"]):
        second = cli("fit", config, *extra)
        assert second.returncode == 2, second.stderr
        assert f"{tmp_path / 'run'} is in use by nntrain fit (process {first.pid}" in second.stderr
    assert cli("check", config).returncode == 2
    assert first.poll() is None and (tmp_path / "run" / "config.yaml").exists()  # --overwrite deleted nothing
    listed = json.loads(cli("runs", tmp_path, "--json").stdout)
    assert [run["status"] for run in listed] == ["running"]


def test_a_lock_left_by_a_killed_fit_never_blocks(cli, blobs_config, tmp_path):
    config = blobs_config(epochs=100000)
    process = _start(["fit", config, "--set", "training.batch_size=1"])
    _wait_until_training(tmp_path / "run", process)
    while not (tmp_path / "run" / "last.npz").exists():
        time.sleep(0.01)
    process.kill()  # no chance to clean up: the lock file stays, the kernel drops the lock
    process.communicate(timeout=600)
    assert (tmp_path / "run" / ".lock").exists()
    resumed = cli("fit", config, "--resume", "auto", "--set", "training.batch_size=1",
                  "--set", "training.stopping={type: max_time, limit: 0.01}", "--force")
    assert resumed.returncode == 0, resumed.stderr
    assert not (tmp_path / "run" / ".lock").exists()  # removed when the run ended


def test_check_and_fit_refuse_an_output_dir_that_cannot_be_created(cli, blobs_config, tmp_path):
    for command in ("check", "fit"):
        result = cli(command, blobs_config(), "--set", "output.dir=/proc/nntrain-cannot-be-here/run")
        assert result.returncode == 2, result.stderr
        assert "output.dir: cannot write to /proc" in result.stderr and "Traceback" not in result.stderr


def test_looking_at_a_lock_never_makes_a_starting_fit_fail(tmp_path):
    """`runs` and `check` take the lock for an instant to see whether a fit holds it; a fit starting
    at that moment waits that instant out instead of reporting the directory as in use."""
    import threading

    from nntrain.run.directory import RunLock, lock_holder

    (tmp_path / ".lock").write_text("")
    done = threading.Event()

    def look():
        while not done.is_set():
            lock_holder(tmp_path)

    watcher = threading.Thread(target=look)
    watcher.start()
    try:
        for _ in range(300):
            with RunLock(tmp_path):
                assert lock_holder(tmp_path) is not None  # while held, it is seen as held
            (tmp_path / ".lock").write_text("")  # the next round races a lookup again
    finally:
        done.set()
        watcher.join()


def test_a_run_directory_that_never_trained_is_started_over(cli, blobs_config, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("left by a fit that stopped before its first epoch\n")
    (run / "test.csv").write_text("x1,x2,label\n")
    listed = cli("runs", run, "--json")
    assert [entry["status"] for entry in json.loads(listed.stdout)] == ["failed"]  # nothing to resume
    result = cli("fit", blobs_config(epochs=1))
    assert result.returncode == 0, result.stderr
    assert "seed: 1" in (run / "config.yaml").read_text()
