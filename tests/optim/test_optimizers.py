"""Each optimizer against its published update rule, by hand, and on a small problem."""

import math

import numpy as np
import pytest

from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model
from nntrain.optim.optimizers import OPTIMIZERS, clip_gradients

P0 = [1.0, -2.0]
G1 = [0.5, -1.0]
G2 = [0.1, 0.3]
LR = 0.1


def two_steps(name, **options):
    optimizer = OPTIMIZERS[name](**options)
    params = np.array(P0)
    optimizer.bind(2, np.float64, np.array([True, True]))
    optimizer.step(params, np.array(G1), LR)
    first = params.copy()
    optimizer.step(params, np.array(G2), LR)
    return first, params


def test_sgd_plain():
    first, second = two_steps("sgd")
    assert np.allclose(first, [0.95, -1.9])
    assert np.allclose(second, [0.94, -1.93])


def test_sgd_momentum():
    # v1 = g1; p1 = p0 - lr v1;  v2 = 0.9 v1 + g2 = [0.55, -0.6]; p2 = p1 - lr v2
    first, second = two_steps("sgd", momentum=0.9)
    assert np.allclose(first, [0.95, -1.9])
    assert np.allclose(second, [0.895, -1.84])


def test_sgd_nesterov():
    # p1 = p0 - lr (g1 + 0.9 v1) = p0 - 0.19 g1;  p2 = p1 - lr (g2 + 0.9 [0.55, -0.6])
    first, second = two_steps("sgd", momentum=0.9, nesterov=True)
    assert np.allclose(first, [0.905, -1.81])
    assert np.allclose(second, [0.8455, -1.786])


def _adam_reference(decay=0.0):
    """Adam written out scalar by scalar from Kingma and Ba (2015), with AdamW's decoupled decay."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    results, p = [], list(P0)
    m, v = [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate([G1, G2], start=1):
        for i in range(2):
            p[i] -= LR * decay * p[i]
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            p[i] -= LR * m_hat / (math.sqrt(v_hat) + eps)
        results.append(list(p))
    return results


def test_adam_matches_the_published_rule():
    first, second = two_steps("adam")
    assert np.allclose(first, [0.9, -1.9])  # the first step moves every weight by lr·sign(g)
    assert np.allclose([first, second], _adam_reference(), rtol=1e-12)


def test_adamw_decays_weights_then_steps():
    first, second = two_steps("adamw", weight_decay=0.5)
    assert np.allclose([first, second], _adam_reference(decay=0.5), rtol=1e-12)
    assert np.allclose(first, [1 - 0.05 - 0.1, -2 + 0.1 + 0.1])


def test_adamw_leaves_biases_alone():
    optimizer = OPTIMIZERS["adamw"](weight_decay=0.5)
    optimizer.bind(2, np.float64, np.array([True, False]))
    params = np.array([1.0, 1.0])
    optimizer.step(params, np.zeros(2), LR)
    assert np.allclose(params, [0.95, 1.0])


def test_rmsprop():
    # v1 = 0.1 g1²; p1 = p0 - lr g1/sqrt(v1);  v2 = 0.9 v1 + 0.1 g2²
    first, second = two_steps("rmsprop", rho=0.9, eps=0.0)
    v1 = 0.1 * np.square(G1)
    p1 = np.array(P0) - LR * np.array(G1) / np.sqrt(v1)
    v2 = 0.9 * v1 + 0.1 * np.square(G2)
    assert np.allclose(first, p1)
    assert np.allclose(first, [1 - LR * math.sqrt(10), -2 + LR * math.sqrt(10)])
    assert np.allclose(second, p1 - LR * np.array(G2) / np.sqrt(v2))


def test_adagrad():
    first, second = two_steps("adagrad", eps=0.0)
    assert np.allclose(first, [0.9, -1.9])
    total = np.square(G1) + np.square(G2)
    assert np.allclose(second, first - LR * np.array(G2) / np.sqrt(total))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_lowers_the_loss_of_a_small_regression(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], dtype=np.float32) + 0.3).astype(np.float32)
    model = build_model([{"type": "dense", "units": 1}], (3,), np.float32, np.random.default_rng(1))
    loss = LOSSES["mse"]()
    optimizer = OPTIMIZERS[name]()
    optimizer.bind(model.flat_params.size, np.float32, model.decay_mask)
    start = loss.value(model.forward(x), y)
    for _ in range(200):
        _, grad = loss.value_and_grad(model.forward(x, training=True), y)
        model.backward(grad)
        optimizer.step(model.flat_params, model.flat_grads, 0.5 if name == "adagrad" else 0.05)
    end = loss.value(model.forward(x), y)
    assert model.flat_params.dtype == np.float32
    assert end < 0.2 * start


def test_clipping_by_value_then_global_norm():
    grads = np.array([3.0, -4.0, 0.5])
    clip_gradients(grads, max_norm=None, max_value=1.0)
    assert np.allclose(grads, [1.0, -1.0, 0.5])
    grads = np.array([3.0, -4.0])
    clip_gradients(grads, max_norm=1.0, max_value=None)
    assert np.allclose(grads, [0.6, -0.8])
    grads = np.array([0.3, 0.4])
    clip_gradients(grads, max_norm=1.0, max_value=None)
    assert np.allclose(grads, [0.3, 0.4])
