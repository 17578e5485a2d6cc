"""Data-parallel training on 2 MPI ranks (the mpich wheel's mpiexec, loopback) against one process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, TIMEOUT

pytest.importorskip("mpi4py", reason="needs the mpi extra (make test installs it)")
MPIEXEC = Path(sys.executable).parent / "mpiexec"
NNTRAIN = [sys.executable, "-m", "nntrain"]


@pytest.fixture
def uneven_csv(tmp_path) -> Path:
    """Three overlapping, imbalanced classes (60/25/15 rows): class weights and dropout both matter."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    kinds = np.repeat([0, 1, 2], [60, 25, 15])
    points = centers[kinds] + rng.normal(0, 1.5, (100, 2))
    path = tmp_path / "uneven.csv"
    pd.DataFrame({"x1": points[:, 0].round(4), "x2": points[:, 1].round(4),
                  "label": np.array(["a", "b", "c"])[kinds]}).to_csv(path, index=False)
    return path


@pytest.fixture
def mlp_config(write, uneven_csv):
    def make(layers: str, training: str = "", epochs: int = 6, optimizer: str = "{type: adam, lr: 0.05}") -> Path:
        # batch 15 over 70 training rows: the last batch (10 rows) splits unevenly too
        return write("mlp.yaml", f"""
            seed: 1
            data:
              train: {uneven_csv}
              target: label
              pipeline: [{{type: normalize}}]
              split: {{validation: 0.2, test: 0.1}}
            model:
              layers: {layers}
            optimizer: {optimizer}
            training: {{epochs: {epochs}, batch_size: 15{training}}}
            """)
    return make


def mpiexec(*args, ranks: int = 2, **options) -> subprocess.CompletedProcess:
    return subprocess.run([str(MPIEXEC), "-n", str(ranks), *NNTRAIN, *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, timeout=TIMEOUT, env=_environment(), **options)


def one_process(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*NNTRAIN, *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT,
                          env=_environment())


def _environment() -> dict:
    environment = {**os.environ, "NO_COLOR": "1"}
    environment.pop("NNTRAIN_DEBUG", None)
    return environment


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name.startswith(("params/", "optimizer/"))}


def log(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{key: value for key, value in row.items() if key not in ("seconds", "time")} for row in rows]


def assert_same_run(run: Path, expected: Path, checkpoint: str = "last.npz") -> None:
    """Final weights, optimizer state and every logged metric equal to float32 rounding."""
    got, want = arrays(run / checkpoint), arrays(expected / checkpoint)
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    got_log, want_log = log(run), log(expected)
    assert [row["epoch"] for row in got_log] == [row["epoch"] for row in want_log]
    for got_row, want_row in zip(got_log, want_log):
        assert got_row.keys() == want_row.keys()
        np.testing.assert_allclose([got_row[k] for k in want_row], [want_row[k] for k in want_row], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("layers, training", [
    ("[{type: dense, units: 16, activation: relu}, {type: dropout, rate: 0.3}]", ""),
    ("[{type: dense, units: 16, activation: relu}]", ", class_weight: balanced"),
], ids=["dropout", "class_weight"])
def test_two_ranks_train_the_model_one_process_trains(mlp_config, tmp_path, layers, training):
    config = mlp_config(layers, training)
    single = one_process("fit", config, "--set", f"output.dir={tmp_path / 'one'}", "-q")
    assert single.returncode == 0, single.stderr
    ranks = one_process("fit", config, "--set", f"output.dir={tmp_path / 'two'}", "--processes", "2")
    assert ranks.returncode == 0, ranks.stderr
    assert_same_run(tmp_path / "two", tmp_path / "one")
    assert ranks.stderr.count("training 99 parameters on 70 rows") == 1  # rank 0 alone reports
    assert ranks.stderr.count("stopped  ") == 1  # one summary table
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())


@pytest.mark.slow
def test_two_ranks_train_from_the_directory_rank_0_prepares_as_one_process_does(mlp_config, uneven_csv, tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]", epochs=3)
    small = ["--set", "data.memory_limit=1KB", "--set", "data.pipeline=[]"]  # the table streams
    ranks = mpiexec("fit", config, *small, "--set", f"output.dir={tmp_path / 'two'}", "-q")
    assert ranks.returncode == 0, ranks.stderr
    prepared = uneven_csv.parent / "uneven.prepared"
    assert sorted(p.name for p in uneven_csv.parent.iterdir() if p.name.startswith((".uneven", "uneven"))) == \
        ["uneven.csv", "uneven.prepared"]  # written once, by rank 0: no second or partial copy
    written = (prepared / "manifest.json").stat().st_mtime_ns
    single = one_process("fit", config, *small, "--set", f"output.dir={tmp_path / 'one'}", "-q")
    assert single.returncode == 0, single.stderr
    assert (prepared / "manifest.json").stat().st_mtime_ns == written  # reused, as rank 1 reused it
    assert_same_run(tmp_path / "two", tmp_path / "one")


SHARED_PREDICT = """
import json, sys, numpy as np
from nntrain.nn.model import build_model
from nntrain.train.parallel import DataParallel, join
model = build_model([{"type": "dense", "units": 3}], (4,), np.float32, np.random.default_rng(0))
seen, predict = [], model.predict
model.predict = lambda x, **options: seen.append(options["rows"]) or predict(x, **options)
x = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
group = join()
outputs = DataParallel(group, model).predict(x)
with open(f"{sys.argv[1]}/rank{group.rank}.json", "w") as report:
    json.dump({"rows": [s.indices(7)[:2] for s in seen], "equal": bool(np.allclose(outputs, predict(x)))}, report)
"""


def test_each_rank_scores_its_share_of_a_split_and_every_rank_gets_all_outputs(tmp_path):
    result = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, "-c", SHARED_PREDICT, str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, timeout=TIMEOUT, env=_environment())
    assert result.returncode == 0, result.stderr
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert reports == [{"rows": [[0, 3]], "equal": True}, {"rows": [[3, 7]], "equal": True}]


@pytest.mark.slow
def test_a_config_error_under_two_ranks_is_reported_once_and_exits_2(mlp_config, tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]")
    result = mpiexec("fit", config, "--set", "training.epochs=0", "--set", f"output.dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stderr.count("nntrain: error:") == 1
    assert "training.epochs (from --set): must be a positive integer, got 0" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_an_error_on_rank_0_alone_before_training_ends_every_rank_with_its_code(mlp_config, tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]", epochs=1)
    run = tmp_path / "run"
    assert one_process("fit", config, "--set", f"output.dir={run}", "-q").returncode == 0
    result = mpiexec("fit", config, "--set", f"output.dir={run}")  # rank 0 alone checks the run directory
    assert result.returncode == 2
    assert result.stderr.count("nntrain: error:") == 1
    assert "already holds a run" in result.stderr


def test_processes_without_mpi4py_exits_2_with_the_install_line(cli, blobs_config, tmp_path):
    hidden = tmp_path / "hide" / "mpi4py"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    result = cli("fit", blobs_config(), "--processes", "2", env={"PYTHONPATH": str(hidden.parent)})
    assert result.returncode == 2
    assert "--processes needs mpi4py, an optional extra; install it with:\npip install 'nntrain[mpi]'" in result.stderr
    assert not (tmp_path / "run").exists()


def _rank_pid(launcher: int, rank: int) -> int:
    """The process id of `rank` among the launcher's descendants (hydra starts a proxy, which starts the ranks)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    family, grown = {launcher}, True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in family} - family
        family |= children
        grown = bool(children)
    for pid in family - {launcher}:
        try:
            environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PMI_RANK={rank}".encode() in environ:
            return pid
    raise AssertionError(f"no rank {rank} under process {launcher}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_and_wait_for_an_epoch(config: Path, run: Path, *extra: str) -> subprocess.Popen:
    process = subprocess.Popen([str(MPIEXEC), "-n", "2", *NNTRAIN, "fit", str(config), "--set", f"output.dir={run}",
                                "-q", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env=_environment())
    deadline = time.monotonic() + TIMEOUT
    # an epoch logged and its checkpoint saved (the log line comes first: a kill between them leaves no last.npz)
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").read_text().strip()
               and (run / "last.npz").exists()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return process


@pytest.mark.slow
def test_sigint_to_one_rank_saves_one_last_npz_and_resumes_on_one_and_two_ranks(mlp_config, tmp_path):
    # plain SGD: over hundreds of steps Adam's 1/sqrt(v) amplifies float32 rounding beyond rtol 1e-5
    config = mlp_config("[{type: dense, units: 16, activation: relu}, {type: dropout, rate: 0.3}]", epochs=150,
                        optimizer="{type: sgd, lr: 0.05}")
    run = tmp_path / "run"
    process = _start_and_wait_for_an_epoch(config, run)
    os.kill(_rank_pid(process.pid, 1), signal.SIGINT)  # not rank 0: the stop is agreed through the reduction
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, stderr
    assert stderr.count("nntrain: error: interrupted by SIGINT at epoch") == 1
    assert (run / "last.npz").exists() and not (run / "summary.json").exists()
    stopped_at = len(log(run))
    assert 0 < stopped_at < 150

    for name in ("resumed-1", "resumed-2"):
        subprocess.run(["cp", "-r", str(run), str(tmp_path / name)], check=True)
    single = one_process("fit", config, "--set", f"output.dir={tmp_path / 'resumed-1'}", "--resume",
                         tmp_path / "resumed-1", "-q")
    assert single.returncode == 0, single.stderr
    ranks = mpiexec("fit", config, "--set", f"output.dir={tmp_path / 'resumed-2'}", "--resume", tmp_path / "resumed-2",
                    "-q")
    assert ranks.returncode == 0, ranks.stderr
    whole = one_process("fit", config, "--set", f"output.dir={tmp_path / 'whole'}", "-q")
    assert whole.returncode == 0, whole.stderr
    assert_same_run(tmp_path / "resumed-1", tmp_path / "whole")
    assert_same_run(tmp_path / "resumed-2", tmp_path / "whole")


@pytest.mark.slow
def test_sigkill_of_one_rank_ends_the_job_within_60_seconds_with_the_checkpoint_intact(mlp_config, tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]", epochs=100000)
    run = tmp_path / "run"
    process = _start_and_wait_for_an_epoch(config, run)
    os.kill(_rank_pid(process.pid, 1), signal.SIGKILL)
    killed = time.monotonic()
    process.communicate(timeout=TIMEOUT)
    assert time.monotonic() - killed < 60
    assert process.returncode != 0
    assert arrays(run / "last.npz")  # loads: written atomically, never half
    check = one_process("eval", run / "last.npz", "--json")
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_a_rank_that_hangs_ends_the_job_after_the_collective_timeout_with_the_checkpoint_intact(mlp_config,
                                                                                                  tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]", epochs=100000)
    run = tmp_path / "run"
    process = _start_and_wait_for_an_epoch(config, run, "--set", "engine.collective_timeout=10")
    hung = _rank_pid(process.pid, 1)
    os.kill(hung, signal.SIGSTOP)  # alive but stuck: the launcher sees nothing wrong
    stopped = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if _alive(hung):
            os.kill(hung, signal.SIGKILL)
    assert time.monotonic() - stopped < 60 + 10
    assert process.returncode != 0
    assert "nntrain: error on rank 0: waited over 10 s for the other ranks (engine.collective_timeout)" in stderr
    assert arrays(run / "last.npz")
    assert one_process("eval", run / "last.npz", "--json").returncode == 0


@pytest.mark.slow
def test_batchnorm_uses_each_ranks_rows_unless_synchronised_then_matches_one_process(write, image_folder, tmp_path):
    config = write("cnn.yaml", f"""
        seed: 0
        data:
          train: {image_folder}
          image: {{color: grayscale, size: [8, 8]}}
          split: {{validation: 0.2, test: 0.2}}
        model:
          layers:
            - {{type: conv2d, filters: 4, kernel: 3}}
            - {{type: batchnorm}}
            - {{type: activation, activation: relu}}
            - {{type: flatten}}
        optimizer: {{type: sgd, lr: 0.05}}
        training: {{epochs: 3, batch_size: 9}}
        """)
    runs = {name: tmp_path / name for name in ("one", "per-rank", "synced")}
    assert one_process("fit", config, "--set", f"output.dir={runs['one']}", "-q").returncode == 0
    per_rank = mpiexec("fit", config, "--set", f"output.dir={runs['per-rank']}", "-q")
    assert per_rank.returncode == 0, per_rank.stderr
    synced = mpiexec("fit", config, "--set", f"output.dir={runs['synced']}", "--set", "engine.sync_batchnorm=true",
                     "-q")
    assert synced.returncode == 0, synced.stderr
    assert_same_run(runs["synced"], runs["one"])
    # per-rank statistics (the default) normalise each half-batch by its own mean: another model
    got, want = arrays(runs["per-rank"] / "last.npz"), arrays(runs["one"] / "last.npz")
    assert not np.allclose(got["params/batchnorm_1.gamma"], want["params/batchnorm_1.gamma"], rtol=1e-3)
    with np.load(runs["per-rank"] / "last.npz") as archive:  # running statistics: one set, averaged over ranks
        assert np.all(np.isfinite(archive["buffers/batchnorm_1.running_var"]))


@pytest.mark.slow
def test_sigterm_to_the_launcher_stops_every_rank_with_143_and_a_last_npz(mlp_config, tmp_path):
    config = mlp_config("[{type: dense, units: 16, activation: relu}]", epochs=100000)
    run = tmp_path / "run"
    process = _start_and_wait_for_an_epoch(config, run)
    process.send_signal(signal.SIGTERM)  # mpiexec forwards it to every rank
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 143, stderr
    assert stderr.count("nntrain: error: interrupted by SIGTERM at epoch") == 1
    assert arrays(run / "last.npz") and not (run / "summary.json").exists()
