"""`nntrain export`: a saved run as one ONNX model, raw rows in and predictions out, for onnxruntime.

The graph is built with the `onnx` package (an optional extra, imported here only) from the
checkpoint's fitted pipeline and weights: `pipeline` (steps -> nodes), `layers` (network ->
nodes), `outputs` (per task), assembled and checked by `model`. What cannot be expressed is a
ConfigError naming it, never an approximate model.
"""

from pathlib import Path

from nntrain.errors import ConfigError
from nntrain.extras import require
from nntrain.run.api import load
from nntrain.files import write_atomic


def export_run(run: str | Path, output: str | Path) -> tuple[object, list[str]]:
    """Write the run's model to `output` as ONNX; returns the model and notes on what was left out."""
    onnx = require("onnx", extra="onnx", needed_by="nntrain export", package="onnx")
    from nntrain.export.model import build_model

    model, notes = build_model(load(run).saved, onnx)
    data = model.SerializeToString()
    try:
        write_atomic(Path(output), lambda handle: handle.write(data))
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
    return model, notes
