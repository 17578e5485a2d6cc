"""Finite-difference proofs (float64) of every backward pass: layers, activations, losses, penalties."""

import numpy as np
import pytest

from nntrain.nn.activations import ACTIVATIONS
from nntrain.nn.layers import LAYERS
from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model

EPS = 1e-6
TOLERANCE = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / scale) if scale else 0.0


def numeric_gradient(f, array: np.ndarray) -> np.ndarray:
    """Central differences of scalar f() with respect to every element of `array` (modified in place)."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + EPS
        plus = f()
        flat[i] = original - EPS
        minus = f()
        flat[i] = original
        out[i] = (plus - minus) / (2 * EPS)
    return grad


def away_from_zero(rng, shape, margin=0.05):
    """Random values with |x| >= margin, so kinks (relu, abs) are never crossed by a finite difference."""
    values = rng.standard_normal(shape)
    return np.where(values >= 0, values + margin, values - margin)


def check_layer(layer, input_shape, batch=5, training=True, reseed=None, seed=0, x=None):
    """Check d(sum(R * layer(x)))/dx and /dθ against finite differences (x random unless given)."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, np.float64)
    if reseed:
        reseed()
    x = away_from_zero(rng, (batch, *input_shape)) if x is None else x
    upstream = rng.standard_normal((batch, *layer.forward(x.copy(), training).shape[1:]))

    def objective():
        if reseed:
            reseed()
        return float(np.sum(layer.forward(x.copy(), training) * upstream))

    if reseed:
        reseed()
    layer.forward(x.copy(), training)
    grad_x = layer.backward(upstream.copy())
    assert relative_error(grad_x, numeric_gradient(objective, x)) < TOLERANCE
    for name, param in layer.params.items():
        analytic = layer.grads[name].copy()
        assert relative_error(analytic, numeric_gradient(objective, param)) < TOLERANCE, name


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_layer_gradient(activation):
    check_layer(LAYERS["activation"](activation), (7,))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dense_with_each_activation_gradient(activation):
    check_layer(LAYERS["dense"](4, activation=activation), (6,))


@pytest.mark.parametrize("alpha", [0.2, 1.7])
@pytest.mark.parametrize("activation", ["leaky_relu", "elu"])
def test_activation_alpha_gradient(activation, alpha):
    check_layer(LAYERS["activation"](activation, alpha=alpha), (5,))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradient(training):
    layer = LAYERS["batchnorm"](momentum=0.8, epsilon=1e-3)
    check_layer(layer, (4,), batch=8, training=training)


def test_batchnorm_gradient_on_image_channels():
    check_layer(LAYERS["batchnorm"](), (3, 3, 2), batch=4)


def test_dropout_gradient_with_fixed_mask():
    layer = LAYERS["dropout"](0.4)

    def reseed():
        layer.rng = np.random.default_rng(123)

    check_layer(layer, (10,), batch=6, reseed=reseed)
    reseed()
    dropped = layer.forward(np.ones((6, 10)), True)
    assert 0 < np.count_nonzero(dropped == 0) < dropped.size  # the mask really drops some, keeps others


def test_flatten_gradient():
    check_layer(LAYERS["flatten"](), (2, 3, 2))


CONV_CASES = [  # (options, input shape (H, W, C))
    ({"filters": 2, "kernel": 3}, (5, 6, 1)),
    ({"filters": 3, "kernel": [2, 3], "padding": "same", "activation": "relu"}, (5, 6, 3)),
    ({"filters": 2, "kernel": 3, "stride": 2}, (7, 6, 3)),
    ({"filters": 2, "kernel": [3, 2], "stride": 2, "padding": "same", "activation": "tanh"}, (6, 5, 1)),
    ({"filters": 3, "kernel": 3, "stride": [1, 2], "padding": "same", "activation": "elu"}, (5, 7, 3)),
    ({"filters": 2, "kernel": [1, 4], "stride": [2, 1], "padding": 2, "activation": "sigmoid"}, (4, 5, 3)),
    ({"filters": 1, "kernel": [2, 3], "padding": 1, "activation": "leaky_relu", "alpha": 0.2}, (4, 4, 1)),
]


@pytest.mark.parametrize("options,input_shape", CONV_CASES)
def test_conv2d_gradient(options, input_shape):
    check_layer(LAYERS["conv2d"](**options), input_shape, batch=3)


POOL_CASES = [  # (size, stride, input shape): disjoint, leftover rows, gaps, overlapping windows
    (2, None, (4, 6, 2)),
    (2, None, (5, 7, 1)),
    ([2, 3], [3, 4], (7, 8, 2)),
    (3, 1, (5, 4, 2)),
    ([3, 2], [2, 1], (7, 5, 3)),
]


@pytest.mark.parametrize("size,stride,input_shape", POOL_CASES)
def test_maxpool2d_gradient(size, stride, input_shape):
    """Distinct inputs spaced 0.01 apart: no ties, and no finite difference can change a window's winner."""
    rng = np.random.default_rng(4)
    x = rng.permutation(3 * int(np.prod(input_shape))).reshape(3, *input_shape) * 0.01
    check_layer(LAYERS["maxpool2d"](size, stride), input_shape, batch=3, x=x)


@pytest.mark.parametrize("size,stride,input_shape", POOL_CASES)
def test_avgpool2d_gradient(size, stride, input_shape):
    check_layer(LAYERS["avgpool2d"](size, stride), input_shape, batch=3)


def test_global_avgpool_gradient():
    check_layer(LAYERS["global_avgpool"](), (3, 4, 2), batch=3)


def test_every_layer_kind_is_gradient_checked():
    assert set(LAYERS) == {"activation", "dense", "batchnorm", "dropout", "flatten",
                           "conv2d", "maxpool2d", "avgpool2d", "global_avgpool"}


def _loss_case(name, rng):
    if name == "cross_entropy":
        return rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    if name == "binary_cross_entropy":
        return rng.standard_normal((6, 3)), rng.integers(0, 2, (6, 3)).astype(np.float64)
    pred = rng.standard_normal((6, 2))
    return pred, pred + away_from_zero(rng, (6, 2), margin=0.01)


LOSS_OPTIONS = {
    "mse": [{}], "mae": [{}], "huber": [{"delta": 0.5}, {"delta": 3.0}],
    "cross_entropy": [{}, {"label_smoothing": 0.1}],
    "binary_cross_entropy": [{}],
}


LOSS_CASES = [(n, o, weighted) for n, opts in LOSS_OPTIONS.items() for o in opts for weighted in (False, True)]


@pytest.mark.parametrize("name,options,weighted", LOSS_CASES)
def test_loss_gradient(name, options, weighted):
    rng = np.random.default_rng(1)
    loss = LOSSES[name](**options)
    pred, target = _loss_case(name, rng)
    args = (rng.uniform(0.5, 2.0, len(pred)),) if weighted else ()
    value, grad = loss.value_and_grad(pred.copy(), target, *args)
    assert value == pytest.approx(loss.value(pred.copy(), target, *args))
    numeric = numeric_gradient(lambda: loss.value(pred.copy(), target, *args), pred)
    assert relative_error(grad, numeric) < TOLERANCE


def test_every_loss_is_gradient_checked():
    assert set(LOSSES) == set(LOSS_OPTIONS)


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
def test_model_gradient_with_penalties_through_flat_buffer(l1, l2):
    """The whole network (every dense-compatible layer kind) and its penalty, through the model's flat buffers."""
    specs = [
        {"type": "dense", "units": 5, "activation": "tanh", "l1": l1, "l2": l2},
        {"type": "batchnorm"},
        {"type": "activation", "activation": "gelu"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 4, "activation": "elu", "l1": l1, "l2": l2},
        {"type": "dense", "units": 3, "name": "output", "l1": l1, "l2": l2},
    ]
    rng = np.random.default_rng(3)
    model = build_model(specs, (6,), np.float64, rng, np.random.default_rng(0))
    loss = LOSSES["cross_entropy"]()
    x = rng.standard_normal((8, 6))
    y = rng.integers(0, 3, 8)

    def objective():
        model.noise_rng.bit_generator.state = np.random.default_rng(9).bit_generator.state
        return loss.value(model.forward(x.copy(), training=True), y) + model.penalty()

    objective()
    model.noise_rng.bit_generator.state = np.random.default_rng(9).bit_generator.state
    _, grad = loss.value_and_grad(model.forward(x.copy(), training=True), y)
    model.backward(grad)
    model.add_penalty_grads()
    analytic = model.flat_grads.copy()
    numeric = numeric_gradient(objective, model.flat_params)
    assert relative_error(analytic, numeric) < TOLERANCE
    assert model.has_penalty == bool(l1 or l2)


def test_conv_model_gradient_through_flat_buffer():
    """A small CNN through the model's flat buffers: every image layer writes its gradients in place."""
    specs = [
        {"type": "conv2d", "filters": 3, "kernel": 3, "stride": 2, "padding": "same", "activation": "tanh",
         "l2": 0.02},
        {"type": "batchnorm"},
        {"type": "maxpool2d", "size": 2, "stride": 1},
        {"type": "conv2d", "filters": 4, "kernel": [2, 1], "padding": 1, "activation": "elu", "l1": 0.01},
        {"type": "avgpool2d", "size": 2},
        {"type": "conv2d", "filters": 3, "kernel": 1},
        {"type": "global_avgpool"},
        {"type": "dense", "units": 3, "name": "output"},
    ]
    rng = np.random.default_rng(5)
    model = build_model(specs, (7, 6, 2), np.float64, rng)
    loss = LOSSES["cross_entropy"]()
    x = rng.standard_normal((4, 7, 6, 2))
    y = rng.integers(0, 3, 4)

    def objective():
        return loss.value(model.forward(x.copy(), training=True), y) + model.penalty()

    _, grad = loss.value_and_grad(model.forward(x.copy(), training=True), y)
    model.backward(grad)
    model.add_penalty_grads()
    analytic = model.flat_grads.copy()
    assert relative_error(analytic, numeric_gradient(objective, model.flat_params)) < TOLERANCE
