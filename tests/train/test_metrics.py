"""Metrics against hand-computed values."""

import numpy as np
import pytest

from nntrain.monitor import infer_mode
from nntrain.train.metrics import (MetricSums, classification_metrics, compute_metrics, multilabel_metrics,
                                   regression_metrics)


def test_classification_metrics_by_hand():
    truth = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    metrics, confusion = classification_metrics(truth, predicted, 3)
    assert confusion.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    # per class precision 1/2, 2/3, 1; recall 1/2, 2/3, 1
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert metrics["recall"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert metrics["f1"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)


def test_absent_classes_do_not_drag_macro_averages_down():
    metrics, _ = classification_metrics(np.array([0, 1]), np.array([0, 1]), 4)
    assert metrics["f1"] == 1.0 and metrics["precision"] == 1.0


def test_regression_metrics_by_hand():
    truth = np.array([[1.0], [2.0], [3.0], [4.0]])
    predicted = np.array([[1.0], [3.0], [3.0], [2.0]])
    metrics = regression_metrics(truth, predicted)
    assert metrics["mse"] == pytest.approx(5 / 4)
    assert metrics["mae"] == pytest.approx(3 / 4)
    assert metrics["r2"] == pytest.approx(1 - 5 / 5)


def test_multilabel_metrics_by_hand():
    truth = np.array([[1, 0], [1, 1]], dtype=bool)
    predicted = np.array([[1, 0], [0, 1]], dtype=bool)
    metrics = multilabel_metrics(truth, predicted)
    assert metrics == {"accuracy": 0.75, "exact_match": 0.5, "f1": pytest.approx((2 / 3 + 1) / 2)}


def test_single_sigmoid_output_is_a_binary_decision():
    metrics, confusion = compute_metrics(np.array([[2.0], [-1.0], [0.5]]), np.array([1, 0, 0]), "classification", 2)
    assert confusion.tolist() == [[1, 1], [0, 1]]


def test_regression_metrics_are_in_target_units():
    decode = lambda v: v * 10 + 100  # noqa: E731
    metrics, _ = compute_metrics(np.array([[0.1]]), np.array([[0.0]]), "regression", decode=decode)
    assert metrics["mae"] == pytest.approx(1.0)


def _chunked(task, outputs, y, classes=0, cuts=(3, 4, 11)):
    sums = MetricSums(task, classes)
    for part in np.split(np.arange(len(y)), cuts):
        sums.add(outputs[part], y[part])
    return sums.result()


def test_metrics_summed_over_chunks_equal_those_of_all_rows():
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(20, 3)).astype(np.float32)
    classes = rng.integers(0, 3, 20)
    whole, confusion = compute_metrics(outputs, classes, "classification", 3)
    chunked, chunked_confusion = _chunked("classification", outputs, classes, 3)
    assert chunked == whole and np.array_equal(chunked_confusion, confusion)  # counts: exactly
    labels = rng.integers(0, 2, (20, 3))
    assert _chunked("multilabel", outputs, labels)[0] == compute_metrics(outputs, labels, "multilabel")[0]
    values = rng.normal(5, 2, (20, 2))
    whole = compute_metrics(outputs[:, :2], values, "regression")[0]
    # sums of squares in another order, R² from merged chunk means: equal to rounding, not bit for bit
    assert _chunked("regression", outputs[:, :2], values)[0] == pytest.approx(whole, rel=1e-12)
    assert whole == pytest.approx({"mse": np.mean((outputs[:, :2] - values) ** 2),
                                   "mae": np.mean(np.abs(outputs[:, :2] - values)),
                                   "r2": np.mean(1 - ((outputs[:, :2] - values) ** 2).sum(0)
                                                 / ((values - values.mean(0)) ** 2).sum(0))}, rel=1e-12)


def test_mode_from_metric_name():
    assert [infer_mode(m) for m in ("val_loss", "loss", "val_mae", "val_accuracy", "val_r2")] == \
        ["min", "min", "min", "max", "max"]
