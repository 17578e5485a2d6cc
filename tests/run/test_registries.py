"""Every kind is built through its registry: a new kind is picked up end to end, or refused loudly."""

import json
import os
import subprocess
import sys
import textwrap

from nntrain.train.stopping import STOPPING_RULES, Plateau


def test_a_new_activation_registered_in_the_engine_is_picked_up_by_schema_fit_and_summary(blobs_config, tmp_path):
    """Activation names are derived from the registry: one class and one line, and configs may use it."""
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from nntrain.nn import activations

        class Square(activations.Activation):
            def forward(self, x):
                self._x = x.copy()
                return np.multiply(x, x, out=x)

            def backward(self, grad_y):
                return np.multiply(grad_y, 2 * self._x, out=grad_y)

        activations.ACTIVATIONS["square"] = Square   # the one line

        from nntrain.cli import app
        sys.argv = ["nntrain", *sys.argv[1:]]
        app(prog_name="nntrain")
        """)
    (tmp_path / "with_square.py").write_text(script)
    layers = "model.layers=[{type: dense, units: 4, activation: square}]"
    fit = subprocess.run([sys.executable, str(tmp_path / "with_square.py"), "fit", str(blobs_config(epochs=3)),
                          "--set", layers], capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr
    summary = subprocess.run([sys.executable, str(tmp_path / "with_square.py"), "summary", str(tmp_path / "run"),
                              "--json"], capture_output=True, text=True)
    assert json.loads(summary.stdout)["layers"][0]["type"] == "dense (square)"
    without = subprocess.run([sys.executable, "-m", "nntrain", "check", str(blobs_config(epochs=3)), "--set", layers],
                             capture_output=True, text=True)
    assert without.returncode == 2 and "square" in without.stderr  # a plain nntrain does not know it


def test_stopping_rules_are_built_from_the_registry_not_by_name(blobs_config, monkeypatch):
    """Replacing a registry entry changes what fit runs: no if/elif on type names stands in between."""
    import nntrain

    seen = []

    class Watching(Plateau):
        def check(self, epoch, metrics, elapsed):
            seen.append(epoch)
            return super().check(epoch, metrics, elapsed)

    monkeypatch.setitem(STOPPING_RULES, "plateau", Watching)
    run = nntrain.fit(blobs_config(epochs=4), overrides={"training.stopping": {"patience": 50}})
    assert seen == [1, 2, 3, 4] and run.summary["epochs_run"] == 4


def test_a_kind_in_a_registry_without_a_schema_is_refused_loudly(repo, tmp_path):
    """Run the registry/schema consistency test with a dummy layer registered: it fails, naming the kind."""
    (tmp_path / "dummy_kind.py").write_text("from nntrain.nn.layers import LAYERS, Layer\n"
                                            "LAYERS['dummy'] = type('Dummy', (Layer,), {})\n")
    result = subprocess.run([sys.executable, "-m", "pytest", str(repo / "tests/config/test_reference.py"), "-q",
                             "-p", "dummy_kind", "-k", "registry_names", "-p", "no:cacheprovider", "-p", "no:xdist"],
                            capture_output=True, text=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1, result.stdout
    assert "1 failed, 7 passed" in result.stdout and "'dummy'" in result.stdout
