"""What the export tests share: onnxruntime fed raw CSV rows, and `nntrain predict` through the CLI."""

import csv
import io
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


def cli_predictions(cli, run: Path, data: Path, proba: bool = True) -> pd.DataFrame:
    result = cli("predict", run, data, *(["--proba"] if proba else []))
    assert result.returncode == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)


def assert_same_predictions(onnx: dict, predicted: pd.DataFrame) -> None:
    """Class names equal, probabilities within 1e-5; or values in the target's units within float32 rounding."""
    if onnx["prediction"].dtype == object:
        assert list(onnx["prediction"]) == list(predicted["prediction"].astype(str))
        proba = predicted[[c for c in predicted.columns if c.startswith("proba_")]].to_numpy()
        assert onnx["probabilities"].shape == proba.shape
        np.testing.assert_allclose(onnx["probabilities"], proba, rtol=0, atol=1e-5)
    else:
        columns = [c for c in predicted.columns if c.startswith("prediction")]
        np.testing.assert_allclose(onnx["prediction"], predicted[columns].to_numpy(), rtol=1e-6, atol=0)
