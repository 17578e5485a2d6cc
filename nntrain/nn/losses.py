"""Losses on the network's raw outputs (logits for classification).

Each loss has `value(pred, target, weight=None) -> float` and
`value_and_grad(pred, target, weight=None) -> (float, grad)`, averaged over the
batch or weighted by a per-sample `weight` (how class weights reach the loss).
Softmax and sigmoid are fused into the classification losses, which is faster
and numerically stable; the matching `output_activation` turns logits into
probabilities at predict time.
"""

import numpy as np

from nntrain.nn.activations import sigmoid, softmax


class Loss:
    output_activation = "linear"
    tasks: frozenset[str] = frozenset()
    one_output_per_label = False  # classification with one output unit (a sigmoid) rather than one per class

    def value(self, pred: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None) -> float:
        return self.value_and_grad(pred, target, weight)[0]

    def value_and_grad(self, pred, target, weight=None) -> tuple[float, np.ndarray]:
        raise NotImplementedError


def _weighted_mean(per_sample: np.ndarray, weight: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Mean of per-sample losses, weighted by `weight` if given, and each sample's share of it."""
    n = len(per_sample)
    if weight is None:
        return float(per_sample.mean()), np.full(n, 1 / n, dtype=per_sample.dtype)
    share = (weight / weight.sum()).astype(per_sample.dtype, copy=False)
    return float(per_sample @ share), share


class _Regression(Loss):
    """Element-wise regression loss, averaged over outputs, then over samples (weighted if given)."""

    tasks = frozenset({"regression"})

    def value_and_grad(self, pred, target, weight=None):
        error = pred - target
        loss, slope = self.elementwise(error)
        value, share = _weighted_mean(loss.mean(axis=1), weight)
        slope *= (share / error.shape[1])[:, None]
        return value, slope


class MSE(_Regression):
    """Mean squared error: mean((p − t)²)."""

    def elementwise(self, e):
        return e * e, 2 * e


class MAE(_Regression):
    """Mean absolute error: mean(|p − t|)."""

    def elementwise(self, e):
        return np.abs(e), np.sign(e)


class Huber(_Regression):
    """Squared for |p − t| <= delta, linear beyond: robust to outliers."""

    def __init__(self, delta: float = 1.0):
        self.delta = delta

    def elementwise(self, e):
        a = np.abs(e)
        small = a <= self.delta
        loss = np.where(small, 0.5 * e * e, self.delta * (a - 0.5 * self.delta))
        slope = np.where(small, e, self.delta * np.sign(e))
        return loss.astype(e.dtype, copy=False), slope.astype(e.dtype, copy=False)


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits and integer class targets.

    With label smoothing ε the target distribution is q = (1 − ε)·onehot + ε/C.
    loss_i = logsumexp(z_i) − Σ_c q_ic·z_ic;  grad_i = (softmax(z_i) − q_i)·share_i.
    """

    output_activation = "softmax"
    tasks = frozenset({"classification"})

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def value_and_grad(self, pred, target, weight=None):
        n, classes = pred.shape
        rows = np.arange(n)
        shifted = pred - pred.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_total = np.log(total[:, 0])
        eps = self.label_smoothing
        per_sample = log_total - (1 - eps) * shifted[rows, target]
        if eps:
            per_sample -= (eps / classes) * shifted.sum(axis=1)
        loss, share = _weighted_mean(per_sample, weight)
        grad = exp
        grad /= total
        grad[rows, target] -= 1 - eps
        if eps:
            grad -= eps / classes
        grad *= share[:, None]
        return loss, grad


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy on logits, for binary and multi-label targets.

    loss = max(z, 0) − z·t + log(1 + exp(−|z|)), averaged over labels then samples;
    grad = (sigmoid(z) − t)·share / labels. Integer class targets (binary
    classification with one output unit) are read as t = class index.
    """

    output_activation = "sigmoid"
    tasks = frozenset({"classification", "multilabel"})
    one_output_per_label = True

    def value_and_grad(self, pred, target, weight=None):
        t = target.reshape(len(target), -1).astype(pred.dtype, copy=False)
        labels = pred.shape[1]
        elementwise = np.maximum(pred, 0) - pred * t + np.log1p(np.exp(-np.abs(pred)))
        loss, share = _weighted_mean(elementwise.mean(axis=1), weight)
        grad = sigmoid(pred) - t
        grad *= (share / labels)[:, None]
        return loss, grad


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
    "cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}


def make_loss(spec: dict) -> Loss:
    """The loss a plain spec ({"type": ..., options}) names, as configs and checkpoints store it."""
    return LOSSES[spec["type"]](**{k: v for k, v in spec.items() if k != "type"})


def output_transform(activation: str, outputs: np.ndarray) -> np.ndarray:
    """Turn raw outputs into what predict reports: probabilities or values."""
    if activation == "softmax":
        return softmax(outputs)
    if activation == "sigmoid":
        return sigmoid(outputs)
    return outputs
