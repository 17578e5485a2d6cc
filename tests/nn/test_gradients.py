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


def check_layer(layer, input_shape, batch=5, training=True, noise_seed=None, distinct=False, seed=0, inputs=None):
    """Check d(sum(R * layer(x)))/dx and /dθ against finite differences.

    x is random and away from zero, or with `distinct` a permutation of values 0.01 apart (no ties,
    and no finite difference changes which input is a window's maximum), or `inputs(rng, batch)`. With `noise_seed` the
    layer's noise generator is reset before every forward pass, so dropout keeps one mask.
    """
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, np.float64)

    def reseed():
        if noise_seed is not None:
            layer.rng = np.random.default_rng(noise_seed)

    reseed()
    if inputs is not None:
        x = inputs(rng, batch)
    elif distinct:
        x = rng.permutation(batch * int(np.prod(input_shape))).reshape(batch, *input_shape) * 0.01
    else:
        x = away_from_zero(rng, (batch, *input_shape))
    upstream = rng.standard_normal((batch, *layer.forward(x.copy(), training).shape[1:]))

    def objective():
        reseed()
        return float(np.sum(layer.forward(x.copy(), training) * upstream))

    reseed()
    layer.forward(x.copy(), training)
    grad_x = layer.backward(upstream.copy())
    assert relative_error(grad_x, numeric_gradient(objective, x)) < TOLERANCE
    for name, param in layer.params.items():
        analytic = layer.grads[name].copy()
        assert relative_error(analytic, numeric_gradient(objective, param)) < TOLERANCE, name


# Every activation, keyed like ACTIVATIONS: the option sets each is checked with.
ACTIVATION_OPTIONS = {name: [{}] for name in ["linear", "relu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softmax"]}
ACTIVATION_OPTIONS.update({"leaky_relu": [{}, {"alpha": 0.2}, {"alpha": 1.7}],
                           "elu": [{}, {"alpha": 0.2}, {"alpha": 1.7}]})
ACTIVATION_CASES = [(name, options) for name, cases in ACTIVATION_OPTIONS.items() for options in cases]

CONV_CASES = [  # (options, input shape (H, W, C))
    ({"filters": 2, "kernel": 3}, (5, 6, 1)),
    ({"filters": 3, "kernel": [2, 3], "padding": "same", "activation": "relu"}, (5, 6, 3)),
    ({"filters": 2, "kernel": 3, "stride": 2}, (7, 6, 3)),
    ({"filters": 2, "kernel": [3, 2], "stride": 2, "padding": "same", "activation": "tanh"}, (6, 5, 1)),
    ({"filters": 3, "kernel": 3, "stride": [1, 2], "padding": "same", "activation": "elu"}, (5, 7, 3)),
    ({"filters": 2, "kernel": [1, 4], "stride": [2, 1], "padding": 2, "activation": "sigmoid"}, (4, 5, 3)),
    ({"filters": 1, "kernel": [2, 3], "padding": 1, "activation": "leaky_relu", "alpha": 0.2}, (4, 4, 1)),
    ({"filters": 2, "kernel": 2, "stride": 2, "padding": "same", "activation": "gelu"}, (5, 5, 2)),
]

POOL_CASES = [  # (size, stride, input shape): disjoint, leftover rows, gaps, overlapping windows
    (2, None, (4, 6, 2)),
    (2, None, (5, 7, 1)),
    ([2, 3], [3, 4], (7, 8, 2)),
    (3, 1, (5, 4, 2)),
    ([3, 2], [2, 1], (7, 5, 3)),
]

def token_rows(rng, batch):
    """A passed-through feature, then two token blocks ([1, 3, 5] and [4, 3, 6]): ids, repeats, padding, one
    row without tokens."""
    block = lambda size: np.where(rng.random((batch, 3)) < 0.3, -1, rng.integers(0, size, (batch, 3)))
    x = np.hstack([away_from_zero(rng, (batch, 1)), block(5), block(6)]).astype(np.float64)
    x[0, 1:4] = -1
    x[1, 4:7] = 2  # one token three times
    return x


EMBEDDING_TOKENS = [[1, 3, 5], [4, 3, 6]]

# Every layer kind, keyed like LAYERS: (constructor options, input shape, check_layer arguments) per case.
LAYER_OPTIONS = {
    "dense": [({"units": 4, "activation": name, **options}, (6,), {}) for name, options in ACTIVATION_CASES],
    "activation": [({"activation": name, **options}, (7,), {}) for name, options in ACTIVATION_CASES],
    "batchnorm": [({"momentum": 0.8, "epsilon": 1e-3}, (4,), {"batch": 8, "training": True}),
                  ({"momentum": 0.8, "epsilon": 1e-3}, (4,), {"batch": 8, "training": False}),
                  ({}, (3, 3, 2), {"batch": 4})],
    "dropout": [({"rate": 0.4}, (10,), {"batch": 6, "noise_seed": 123})],
    "flatten": [({}, (2, 3, 2), {})],
    "conv2d": [(options, shape, {"batch": 3}) for options, shape in CONV_CASES],
    "maxpool2d": [({"size": size, "stride": stride}, shape, {"batch": 3, "distinct": True})
                  for size, stride, shape in POOL_CASES],
    "avgpool2d": [({"size": size, "stride": stride}, shape, {"batch": 3}) for size, stride, shape in POOL_CASES],
    "global_avgpool": [({}, (3, 4, 2), {"batch": 3})],
    "embedding_bag": [({"dim": 3, "mode": mode, "tokens": EMBEDDING_TOKENS}, (7,), {"batch": 6, "inputs": token_rows})
                      for mode in ("mean", "sum")],
}
LAYER_CASES = [pytest.param(kind, *case, id=f"{kind}-{index}")
               for kind, cases in LAYER_OPTIONS.items() for index, case in enumerate(cases)]


@pytest.mark.parametrize("kind,options,input_shape,arguments", LAYER_CASES)
def test_layer_gradient(kind, options, input_shape, arguments):
    check_layer(LAYERS[kind](**options), input_shape, **arguments)


def test_every_layer_kind_and_activation_is_gradient_checked():
    """A kind added to a registry without a case here fails: the cases are keyed by the registries' names."""
    assert set(LAYER_OPTIONS) == set(LAYERS) and all(LAYER_OPTIONS.values())
    assert set(ACTIVATION_OPTIONS) == set(ACTIVATIONS) and all(ACTIVATION_OPTIONS.values())


def test_dropout_case_really_drops():
    layer = LAYERS["dropout"](0.4)
    layer.build((10,), np.random.default_rng(0), np.float64)
    layer.rng = np.random.default_rng(123)
    dropped = layer.forward(np.ones((6, 10)), True)
    assert 0 < np.count_nonzero(dropped == 0) < dropped.size  # the mask really drops some, keeps others


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
    assert set(LOSSES) == set(LOSS_OPTIONS) and all(LOSS_OPTIONS.values())


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
