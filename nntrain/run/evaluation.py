"""Scoring and using a model on prepared rows: loss and metrics of a split, and the predictions table."""

import numpy as np
import pandas as pd

from nntrain.data.targets import decode_regression
from nntrain.nn.losses import Loss, output_transform
from nntrain.nn.model import Model
from nntrain.train.metrics import compute_metrics, confusion_matrix, confusion_metrics, predicted_classes


EVALUATED_ROWS = 1 << 16  # rows of a classification split scored at a time


def evaluate_split(model: Model, loss: Loss, x: np.ndarray, y: np.ndarray,
                   target: dict) -> tuple[float, dict, np.ndarray | None]:
    """Loss, metrics and confusion matrix of the model on prepared rows.

    A classification split longer than EVALUATED_ROWS is scored piece by piece (the loss a row-weighted
    mean of the pieces', the metrics from the summed confusion matrix), so its outputs are never held whole.
    """
    if target["task"] == "classification" and len(x) > EVALUATED_ROWS:
        return _evaluate_in_pieces(model, loss, x, y, len(target["classes"]))
    outputs, y = model.predict(x), np.asarray(y)
    metrics, confusion = compute_metrics(outputs, y, target["task"], len(target.get("classes", ())),
                                         lambda values: decode_regression(values, target))
    return loss.value(outputs, y), metrics, confusion


def _evaluate_in_pieces(model: Model, loss: Loss, x: np.ndarray, y: np.ndarray,
                        classes: int) -> tuple[float, dict, np.ndarray]:
    total, confusion = 0.0, np.zeros((classes, classes), dtype=np.int64)
    for start in range(0, len(x), EVALUATED_ROWS):  # a loop over pieces of rows, not over rows
        outputs, truth = model.predict(x[start:start + EVALUATED_ROWS]), np.asarray(y[start:start + EVALUATED_ROWS])
        total += loss.value(outputs, truth) * len(truth)
        confusion += confusion_matrix(truth, predicted_classes(outputs), classes)
    return total / len(x), confusion_metrics(confusion), confusion


def prediction_table(outputs: np.ndarray, target: dict, activation: str, proba: bool) -> pd.DataFrame:
    """Predictions as columns: `prediction` (or `prediction_<target>` per column), then `proba_<class>`."""
    columns = target["columns"]
    if target["task"] == "classification":
        classes = np.array(target["classes"], dtype=object)
        table = {"prediction": classes[predicted_classes(outputs)]}
        if proba:
            probabilities = output_transform(activation, outputs)
            if probabilities.shape[1] == 1:
                probabilities = np.hstack([1 - probabilities, probabilities])
            table.update({f"proba_{name}": probabilities[:, i] for i, name in enumerate(target["classes"])})
        return pd.DataFrame(table)
    if target["task"] == "multilabel":
        table = {f"prediction_{name}": (outputs[:, i] > 0).astype(int) for i, name in enumerate(columns)}
        if proba:
            probabilities = output_transform(activation, outputs)
            table.update({f"proba_{name}": probabilities[:, i] for i, name in enumerate(columns)})
        return pd.DataFrame(table)
    values = decode_regression(outputs, target)
    if len(columns) == 1:
        return pd.DataFrame({"prediction": values[:, 0]})
    return pd.DataFrame({f"prediction_{name}": values[:, i] for i, name in enumerate(columns)})
