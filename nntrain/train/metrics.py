"""Metrics: from raw model outputs and encoded targets to the numbers users read.

Classification reports accuracy and macro-averaged precision, recall and F1
(over classes present in the targets or predictions, as scikit-learn does) and
the confusion matrix; regression reports MSE, MAE and R² in the target's own
units; multilabel reports per-label accuracy, exact-match ratio and macro F1.
"""

from collections.abc import Callable

import numpy as np

HEADLINE = {"classification": "accuracy", "multilabel": "accuracy", "regression": "r2"}  # the metric to show first


def metric_names(task: str) -> tuple[str, ...]:
    return {"classification": ("accuracy", "precision", "recall", "f1"),
            "multilabel": ("accuracy", "exact_match", "f1"),
            "regression": ("mse", "mae", "r2")}[task]


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class index per row: argmax of logits, or logit > 0 for a single sigmoid output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).astype(np.int64)
    return outputs.argmax(axis=1)


def compute_metrics(outputs: np.ndarray, y: np.ndarray, task: str, classes: int = 0,
                    decode: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[dict, np.ndarray | None]:
    """Metrics for a whole split, plus the confusion matrix for classification.

    For regression, `decode` maps outputs and targets back to the target's units.
    """
    sums = MetricSums(task, classes, decode)
    sums.add(outputs, y)
    return sums.result()


class MetricSums:
    """Metrics of rows seen in chunks, from counts and sums that add up across chunks, so any chunking gives
    the metrics of the whole split: exactly for classification and multilabel (counts), and to rounding for
    regression (sums in float64; R² from each chunk's mean and squared deviations, merged as Chan et al.)."""

    def __init__(self, task: str, classes: int = 0, decode: Callable[[np.ndarray], np.ndarray] | None = None):
        self.task, self.classes = task, classes
        self.decode = decode or (lambda values: values)
        self.rows = 0
        self.sums: dict[str, np.ndarray] = {}

    def add(self, outputs: np.ndarray, y: np.ndarray) -> None:
        if self.task == "classification":
            self._add(confusion=confusion_matrix(y, predicted_classes(outputs), self.classes))
        elif self.task == "multilabel":
            truth, predicted = y.astype(bool), outputs > 0
            self._add(equal=(truth == predicted).sum(), exact=(truth == predicted).all(axis=1).sum(),
                      true_positive=(truth & predicted).sum(axis=0), predicted=predicted.sum(axis=0),
                      actual=truth.sum(axis=0))
        else:
            self._add_regression(self.decode(y).astype(np.float64), self.decode(outputs).astype(np.float64))
        self.rows += len(y)

    def _add(self, **counts) -> None:
        for name, value in counts.items():
            self.sums[name] = self.sums[name] + value if name in self.sums else np.asarray(value)

    def _add_regression(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        error = predicted - truth
        rows, mean = len(truth), truth.mean(axis=0)
        deviations = ((truth - mean) ** 2).sum(axis=0)
        if self.rows:  # merge with the rows seen so far: the squared deviations about the joint mean
            seen, before = self.rows, self.sums["mean"]
            delta = mean - before
            deviations = self.sums["deviations"] + deviations + delta**2 * seen * rows / (seen + rows)
            mean = before + delta * rows / (seen + rows)
        self.sums["mean"], self.sums["deviations"] = mean, deviations
        self._add(squares=(error**2).sum(axis=0), absolute=np.abs(error).sum(axis=0))

    def result(self) -> tuple[dict, np.ndarray | None]:
        """The metrics (and for classification the confusion matrix) of every row added."""
        if self.task == "classification":
            confusion = self.sums.get("confusion", np.zeros((self.classes, self.classes), dtype=np.int64))
            return classification_metrics_of(confusion, self.rows)
        if self.task == "multilabel":
            sums = self.sums
            precision = _ratio(sums["true_positive"], sums["predicted"])
            recall = _ratio(sums["true_positive"], sums["actual"])
            return {"accuracy": float(sums["equal"] / (self.rows * len(sums["actual"]))),
                    "exact_match": float(sums["exact"] / self.rows),
                    "f1": float(_ratio(2 * precision * recall, precision + recall).mean())}, None
        residual, total = self.sums["squares"], self.sums["deviations"]
        cells = self.rows * len(residual)
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual == 0, 1.0, 0.0))
        return {"mse": float(residual.sum() / cells), "mae": float(self.sums["absolute"].sum() / cells),
                "r2": float(r2.mean())}, None


def classification_metrics(truth: np.ndarray, predicted: np.ndarray, classes: int) -> tuple[dict, np.ndarray]:
    """Metrics and confusion matrix of true and predicted class indices."""
    return classification_metrics_of(confusion_matrix(truth, predicted, classes), len(truth))


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs, rows: true class."""
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def classification_metrics_of(confusion: np.ndarray, rows: int) -> tuple[dict, np.ndarray]:
    """Accuracy and macro precision, recall and F1 of a confusion matrix (rows: true class) of `rows` rows."""
    true_positive = np.diag(confusion).astype(np.float64)
    predicted_count, actual_count = confusion.sum(axis=0), confusion.sum(axis=1)
    present = (predicted_count + actual_count) > 0
    precision = _ratio(true_positive, predicted_count)
    recall = _ratio(true_positive, actual_count)
    f1 = _ratio(2 * precision * recall, precision + recall)
    metrics = {
        "accuracy": float(true_positive.sum() / max(1, rows)),
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }
    return metrics, confusion


def multilabel_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Per-label accuracy, exact-match ratio and macro F1 of boolean label matrices."""
    sums = MetricSums("multilabel")
    sums.add(np.where(predicted, 1.0, -1.0), truth)
    return sums.result()[0]


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """MSE, MAE and R² (the mean over target columns) of values in the target's units."""
    sums = MetricSums("regression")
    sums.add(predicted, truth)
    return sums.result()[0]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
