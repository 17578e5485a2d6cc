"""engine.threads and the cores ÷ ranks default."""

import pytest

from nntrain.train.threads import blas_threads, default_threads


def test_blas_threads_limits_the_loaded_blas_and_restores_it_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    with blas_threads(1, asked=True):
        inside = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    after = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert inside and set(inside) == {1}
    assert after == before


def test_ranks_of_one_machine_share_its_cores_and_one_process_keeps_the_library_default(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)))
    assert default_threads(1) is None
    assert default_threads(2) == 4
    assert default_threads(3) == 2
    assert default_threads(16) == 1


def test_engine_threads_without_threadpoolctl_exits_2_with_the_install_line(cli, blobs_config, tmp_path):
    hidden = tmp_path / "hide" / "threadpoolctl.py"
    hidden.parent.mkdir()
    hidden.write_text("raise ImportError('hidden for this test')\n")
    result = cli("fit", blobs_config("engine: {threads: 1}\n", epochs=1), env={"PYTHONPATH": str(hidden.parent)})
    assert result.returncode == 2
    assert "engine.threads needs threadpoolctl, an optional extra; install it with:\npip install 'nntrain[threads]'" \
        in result.stderr
    assert not (tmp_path / "run").exists()


def test_engine_threads_trains_the_same_model(cli, blobs_config, tmp_path):
    import numpy as np

    assert cli("fit", blobs_config(epochs=2), "-q").returncode == 0
    (tmp_path / "run").rename(tmp_path / "default")
    result = cli("fit", blobs_config("engine: {threads: 1}\n", epochs=2), "-q")
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "run" / "last.npz") as got, np.load(tmp_path / "default" / "last.npz") as want:
        for name in (n for n in want.files if n.startswith("params/")):
            np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6)
