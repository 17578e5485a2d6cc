"""Loss values against hand-computed ones: how per-sample weights (class weights) average."""

import math

import numpy as np
import pytest

from nntrain.nn.losses import LOSSES


def test_weighted_cross_entropy_divides_by_the_sum_of_weights_as_pytorch():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [2.0, 1.0, 0.0]])
    classes = np.array([1, 2, 0])
    class_weight = np.array([1.0, 2.0, 3.0])
    value = LOSSES["cross_entropy"]().value(logits, classes, class_weight[classes])
    # torch 2.13.0: torch.nn.functional.cross_entropy(logits, classes, weight=class_weight)
    assert value == pytest.approx(0.2775246543707777, rel=1e-14)
    per_sample = [math.log(sum(math.exp(z) for z in row)) - row[c] for row, c in zip(logits, classes)]
    assert value == pytest.approx(np.dot(class_weight[classes], per_sample) / class_weight[classes].sum(), rel=1e-14)


def test_weighted_binary_cross_entropy_divides_by_the_sum_of_weights():
    """Σ wᵢ·lossᵢ / Σ wᵢ, as cross_entropy (PyTorch's BCEWithLogitsLoss(weight=) divides by N instead)."""
    logits, targets, weight = np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]]), np.array([1.0, 3.0])
    expected = (1 * math.log(2) + 3 * math.log(1 + math.exp(-2))) / 4
    assert LOSSES["binary_cross_entropy"]().value(logits, targets, weight) == pytest.approx(expected, rel=1e-14)
