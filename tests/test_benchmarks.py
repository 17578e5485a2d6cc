"""The benchmark scripts still drive the engine the way it is built today (they run only under `make bench`)."""

import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def test_the_benchmark_training_epoch_runs_nntrains_own_loop():
    spec = importlib.util.spec_from_file_location("bench_common", REPO / "benchmarks" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 5)).astype(np.float32), rng.integers(0, 3, 64)
    epoch = common.nntrain_epoch([{"type": "dense", "units": 8, "activation": "relu"},
                                  {"type": "dense", "units": 3}], x, y, batch=16)
    before = epoch.trainer.model.flat_params.copy()
    epoch()
    assert epoch.trainer.step == 4 and not np.array_equal(before, epoch.trainer.model.flat_params)


def test_the_allreduce_benchmark_times_the_flat_gradient_buffer_of_the_bench_mlp():
    import subprocess
    import sys

    import pytest

    pytest.importorskip("mpi4py")
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "allreduce.py"), "--ranks", "1", "--steps", "6",
                             "--threads", "1"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("1 | 0.94 MB | ")  # 235,146 float32 parameters
