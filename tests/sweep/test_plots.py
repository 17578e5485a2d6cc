"""`nntrain plot SWEEP_DIR`: the optimisation history and the parameter importances as PNG files."""

import pytest

from nntrain.sweep.plan import plan_sweep
from nntrain.sweep.worker import create_study, work


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what plot draws (see `cli_in_process`)."""
    return cli_in_process


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # heartbeats, in this process
def test_plot_of_a_sweep_dir_draws_history_and_importances(cli, base_config, sweep_file, tmp_path, monkeypatch):
    sweep = sweep_file(base_config(epochs=2), """
        trials: 4
        sampler: {type: random, seed: 0}
        pruner: none
        space:
          optimizer.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}
          model.layers.0.units: {type: int, low: 2, high: 16}
        """)
    monkeypatch.chdir(tmp_path)
    plan = plan_sweep(str(sweep))  # the sweep in this process: the plot command is what is tested here
    work(plan, create_study(plan), note=lambda message: None, warn=pytest.fail)

    result = cli("plot", tmp_path / "sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("history.png", "importances.png"):
        path = tmp_path / "sweep" / name
        assert f"wrote {path}" in result.stderr
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
