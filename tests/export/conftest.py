"""What the export tests share: onnxruntime fed raw CSV rows, and `nntrain predict` through the CLI."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ort = pytest.importorskip("onnxruntime")

NUMERIC = {"tensor(float)": np.float32, "tensor(double)": np.float64}


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return np.nan  # an empty cell or a marker such as '?': missing


def raw_rows(path: Path) -> dict[str, np.ndarray]:
    """The CSV's columns as written: each cell's text, as a serving system would get it."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    return {name: np.array([row[i] for row in body], dtype=object) for i, name in enumerate(header)}


def onnx_feed(session, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One [N, 1] tensor per input: text as it is, numbers parsed (NaN where there is none)."""
    feed = {}
    for tensor in session.get_inputs():
        cells = columns[tensor.name]
        if tensor.type == "tensor(string)":
            feed[tensor.name] = cells.reshape(-1, 1)
        else:
            feed[tensor.name] = np.array([_number(c) for c in cells], dtype=NUMERIC[tensor.type]).reshape(-1, 1)
    return feed


def run_onnx(model: Path, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, onnx_feed(session, columns))))


def run_onnx_images(model: Path, pixels: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    prediction, probabilities = session.run(["prediction", "probabilities"], {"image": pixels})
    return {"prediction": prediction, "probabilities": probabilities}


def cli_predictions(run: Path, data: Path, proba: bool = True) -> pd.DataFrame:
    """`nntrain predict RUN DATA [--proba]` through the CLI, read back (an empty prediction stays ''), its stderr
    in `attrs["stderr"]`."""
    result = nntrain("predict", run, data, *(["--proba"] if proba else []))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    table.attrs["stderr"] = result.stderr
    return table


def assert_same_predictions(onnx: dict, predicted: pd.DataFrame) -> None:
    """Class names (or 0/1 labels) equal, probabilities within 1e-5; values in the target's units equal up to
    float32 rounding."""
    if onnx["prediction"].dtype == object:
        assert list(onnx["prediction"]) == list(predicted["prediction"].astype(str))
    else:
        columns = [c for c in predicted.columns if c.startswith("prediction")]
        expected = predicted[columns].to_numpy()
        assert onnx["prediction"].shape == expected.shape
        # float32 sums in another order differ by rounding: ~1e-7 of the outputs, times the target's spread
        np.testing.assert_allclose(onnx["prediction"], expected, rtol=1e-5, atol=1e-5 * expected.std())
    if "probabilities" in onnx:
        proba = predicted[[c for c in predicted.columns if c.startswith("proba_")]].to_numpy()
        assert onnx["probabilities"].shape == proba.shape
        np.testing.assert_allclose(onnx["probabilities"], proba, rtol=0, atol=1e-5)


def nntrain(*args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The entry point as a subprocess, for module-scoped fixtures too (the `cli` fixture is per test)."""
    script = Path(sys.executable).parent / "nntrain"
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})}, timeout=900)


def mixed_tables(folder: Path) -> tuple[Path, Path]:
    """A mixed-type table with gaps, markers and pandas' NA text, and new rows with unseen categories."""
    rng = np.random.default_rng(0)
    n = 160
    city = rng.choice(["oslo", "lima", "kyiv", "pune", "rome"], n, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    size = rng.choice(["S", "M", "L"], n)
    a = rng.normal(0, 1, n)
    b = rng.integers(0, 50, n)
    score = a + (city == "oslo") * 1.5 - (size == "L") + b / 25
    label = np.where(score > 1.2, "high", np.where(score > 0.2, "mid", "low"))
    frame = pd.DataFrame({"id": np.arange(n), "a": a.round(3).astype(object), "b": b.astype(object),
                          "city": city.astype(object), "size": size.astype(object), "label": label,
                          "amount": np.exp(score / 2).round(4), "flag_x": (a > 0).astype(int),
                          "flag_y": (b > 20).astype(int)})
    frame.loc[rng.random(n) < 0.1, "a"] = ""
    frame.loc[rng.random(n) < 0.05, "a"] = "?"
    frame.loc[rng.random(n) < 0.08, "b"] = ""
    frame.loc[rng.random(n) < 0.08, "city"] = ""
    frame.loc[rng.random(n) < 0.05, "city"] = "NA"
    frame.loc[rng.random(n) < 0.05, "size"] = "-"
    train = folder / "mixed.csv"
    frame.to_csv(train, index=False)
    new = frame.drop(columns=["label", "amount", "flag_x", "flag_y"]).head(40).copy()
    new.loc[0:5, "city"] = ["paris", "", "NA", "null", "lima", "?"]   # unseen, and missing four ways
    new.loc[6:9, "size"] = ["XL", "", "M", "None"]
    new.loc[10:13, "a"] = ["", "?", "0.5", ""]
    new.loc[14:15, "b"] = ["", "7"]
    fresh = folder / "new.csv"
    new.to_csv(fresh, index=False)
    return train, fresh


@pytest.fixture(scope="session")
def tools(cli_in_process):
    """The helpers above, for test modules (conftest.py cannot be imported under --import-mode=importlib);
    `in_process` fits and exports in the test process, for the tests about the model, not the process."""
    from types import SimpleNamespace

    return SimpleNamespace(raw_rows=raw_rows, onnx_feed=onnx_feed, run_onnx=run_onnx, run_onnx_images=run_onnx_images, nntrain=nntrain,
                           in_process=cli_in_process,
                           cli_predictions=cli_predictions, assert_same_predictions=assert_same_predictions,
                           mixed_tables=mixed_tables)
