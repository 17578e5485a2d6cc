"""Optuna is an optional extra: without it `nntrain sweep` says how to install it, and nothing else imports it."""

import subprocess
import sys


def test_sweep_without_optuna_exits_2_with_the_install_line(cli, base_config, sweep_file, tmp_path):
    hidden = tmp_path / "no-optuna" / "optuna"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'optuna'\")\n")
    sweep = sweep_file(base_config(), "trials: 2\nspace:\n  optimizer.lr: {type: float, low: 1.0e-3, high: 0.1}\n")
    result = cli("sweep", sweep, cwd=tmp_path, env={"PYTHONPATH": str(hidden.parent)})
    assert result.returncode == 2
    assert "pip install 'nntrain[sweep]'" in result.stderr.splitlines()
    assert not (tmp_path / "sweep").exists()


def test_fitting_does_not_import_optuna(repo):
    code = "import sys, nntrain; nntrain.fit; import nntrain.cli; print('optuna' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, timeout=600)
    assert result.stdout.strip() == "False", result.stderr
