"""Scoring and using a model on prepared rows: loss and metrics of a split, and the predictions table."""

from collections.abc import Callable

import numpy as np
import pandas as pd

from nntrain.data.targets import decode_regression
from nntrain.nn.losses import Loss, output_transform
from nntrain.nn.model import Model
from nntrain.train.metrics import MetricSums, predicted_classes


EVALUATED_ROWS = 1 << 16  # rows of a split scored at a time: a long split's outputs are never held whole


def evaluate_split(model: Model, loss: Loss, x: np.ndarray, y: np.ndarray, target: dict,
                   predict: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[float, dict, np.ndarray | None]:
    """Loss, metrics and confusion matrix of the model on prepared rows, scored EVALUATED_ROWS at a time;
    `predict` computes the outputs (default `model.predict`; on MPI ranks, each rank's share gathered:
    `DataParallel.predict`)."""
    scores = Scores(model, loss, target, predict)
    for start in range(0, len(x), EVALUATED_ROWS):  # a loop over pieces of rows, not over rows
        scores.add(x[start:start + EVALUATED_ROWS], np.asarray(y[start:start + EVALUATED_ROWS]))
    if not len(x):
        scores.add(x, np.asarray(y))
    return scores.result()


class Scores:
    """Loss and metrics of a model over prepared rows given in chunks, equal to those of all rows at once: the
    loss as the row-weighted mean of the chunks' mean losses (to float rounding when there are several),
    the metrics as `MetricSums` adds them up."""

    def __init__(self, model: Model, loss: Loss, target: dict,
                 predict: Callable[[np.ndarray], np.ndarray] | None = None):
        self.predict, self.loss = predict or model.predict, loss
        self.metrics = MetricSums(target["task"], len(target.get("classes", ())),
                                  lambda values: decode_regression(values, target))
        self.losses: list[tuple[float, int]] = []

    @property
    def rows(self) -> int:
        return self.metrics.rows

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        outputs = self.predict(x)
        self.losses.append((self.loss.value(outputs, y), len(y)))
        self.metrics.add(outputs, y)

    def result(self) -> tuple[float, dict, np.ndarray | None]:
        """Loss, metrics and (classification) confusion matrix of every row added."""
        if len(self.losses) == 1:  # one chunk: its own mean, not re-weighted by its row count
            loss = self.losses[0][0]
        else:
            loss = float(sum(value * rows for value, rows in self.losses) / self.rows)
        metrics, confusion = self.metrics.result()
        return loss, metrics, confusion


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
