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
    if task == "classification":
        return classification_metrics(y, predicted_classes(outputs), classes)
    if task == "multilabel":
        return multilabel_metrics(y.astype(bool), outputs > 0), None
    decode = decode or (lambda values: values)
    return regression_metrics(decode(y), decode(outputs)), None


def classification_metrics(truth: np.ndarray, predicted: np.ndarray, classes: int) -> tuple[dict, np.ndarray]:
    confusion = confusion_matrix(truth, predicted, classes)
    return confusion_metrics(confusion), confusion


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def confusion_metrics(confusion: np.ndarray) -> dict:
    """Accuracy and macro precision, recall and F1 (over the classes present) of a confusion matrix."""
    true_positive = np.diag(confusion).astype(np.float64)
    predicted_count, actual_count = confusion.sum(axis=0), confusion.sum(axis=1)
    present = (predicted_count + actual_count) > 0
    precision = _ratio(true_positive, predicted_count)
    recall = _ratio(true_positive, actual_count)
    f1 = _ratio(2 * precision * recall, precision + recall)
    metrics = {
        "accuracy": float(true_positive.sum() / max(1, confusion.sum())),
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }
    return metrics


def multilabel_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    true_positive = (truth & predicted).sum(axis=0)
    precision = _ratio(true_positive, predicted.sum(axis=0))
    recall = _ratio(true_positive, truth.sum(axis=0))
    return {
        "accuracy": float((truth == predicted).mean()),
        "exact_match": float((truth == predicted).all(axis=1).mean()),
        "f1": float(_ratio(2 * precision * recall, precision + recall).mean()),
    }


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    error = predicted - truth
    residual = (error**2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual == 0, 1.0, 0.0))
    return {"mse": float((error**2).mean()), "mae": float(np.abs(error).mean()), "r2": float(r2.mean())}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
