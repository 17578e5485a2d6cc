"""Scoring a split: a long classification split scored piece by piece scores as it does whole."""

import numpy as np
import pytest

from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model
from nntrain.run import evaluation
from nntrain.train.metrics import classification_metrics


def test_a_classification_split_scored_in_pieces_equals_it_scored_whole(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 5)).astype(np.float32), rng.integers(0, 3, 1000)
    model = build_model([{"type": "dense", "units": 3}], (5,), np.float32, np.random.default_rng(1))
    loss = LOSSES["cross_entropy"]()
    target = {"task": "classification", "classes": ["a", "b", "c"]}
    whole = evaluation.evaluate_split(model, loss, x, y, target)
    monkeypatch.setattr(evaluation, "EVALUATED_ROWS", 64)  # 16 pieces, the last short
    pieces = evaluation.evaluate_split(model, loss, x, y, target)
    assert pieces[0] == pytest.approx(whole[0], rel=1e-6)
    assert pieces[1] == whole[1] == classification_metrics(y, model.predict(x).argmax(axis=1), 3)[0]
    np.testing.assert_array_equal(pieces[2], whole[2])
