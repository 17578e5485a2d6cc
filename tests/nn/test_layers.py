"""Layer behaviour beyond gradients: shapes, modes, running statistics, dtypes, the flat buffer."""

import numpy as np
import pytest

from nntrain.nn.initializers import INITIALIZERS, default_initializer
from nntrain.nn.layers import LAYERS
from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model


def test_dropout_is_identity_at_evaluation_and_inverted_in_training():
    layer = LAYERS["dropout"](0.25)
    layer.build((1000,), np.random.default_rng(0), np.float32)
    layer.rng = np.random.default_rng(1)
    x = np.ones((20, 1000), dtype=np.float32)
    assert layer.forward(x, training=False) is x
    y = layer.forward(x, training=True)
    kept = y != 0
    assert y.dtype == np.float32
    assert np.allclose(y[kept], 1 / 0.75)
    assert abs(1 - kept.mean() - 0.25) < 0.01


def test_batchnorm_running_statistics_follow_momentum():
    layer = LAYERS["batchnorm"](momentum=0.75, epsilon=1e-5)
    layer.build((2,), np.random.default_rng(0), np.float64)
    x = np.array([[1.0, 10.0], [3.0, 14.0]])
    out = layer.forward(x, training=True)
    assert np.allclose(layer.buffers["running_mean"], 0.25 * np.array([2.0, 12.0]))
    assert np.allclose(layer.buffers["running_var"], 0.75 + 0.25 * np.array([1.0, 4.0]))
    assert np.allclose(out, [[-1, -1], [1, 1]], atol=1e-4)
    evaluated = layer.forward(np.array([[0.5, 3.0]]), training=False)
    expected = (np.array([0.5, 3.0]) - layer.buffers["running_mean"]) / np.sqrt(layer.buffers["running_var"] + 1e-5)
    assert np.allclose(evaluated, expected)


def test_model_shapes_parameter_counts_and_names():
    specs = [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}, {"type": "batchnorm"},
             {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 3, "name": "output"}]
    model = build_model(specs, (2, 3), np.float32, np.random.default_rng(0))
    assert model.shapes == [(6,), (8,), (8,), (8,), (3,)]
    assert model.names == ["flatten_1", "dense_1", "batchnorm_1", "dropout_1", "output"]
    assert model.parameter_count() == (6 * 8 + 8) + (8 + 8) + (8 * 3 + 3)
    assert sorted(model.params) == ["batchnorm_1.beta", "batchnorm_1.gamma", "dense_1.W", "dense_1.b",
                                    "output.W", "output.b"]
    for name, view in model.params.items():
        assert np.shares_memory(view, model.flat_params), name
        assert np.shares_memory(model.grads[name], model.flat_grads), name
    # weight decay applies to weights only
    assert model.decay_mask.sum() == 6 * 8 + 8 * 3


def test_float32_stays_float32_through_forward_and_backward():
    specs = [{"type": "dense", "units": 16, "activation": "gelu"}, {"type": "batchnorm"},
             {"type": "activation", "activation": "elu"}, {"type": "dropout", "rate": 0.2},
             {"type": "dense", "units": 4, "activation": "sigmoid"}, {"type": "dense", "units": 3}]
    model = build_model(specs, (5,), np.float32, np.random.default_rng(0), np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float32)
    out = model.forward(x, training=True)
    assert out.dtype == np.float32
    value, grad = LOSSES["cross_entropy"](label_smoothing=0.1).value_and_grad(out, np.arange(7) % 3)
    assert grad.dtype == np.float32
    model.backward(grad)
    assert model.flat_grads.dtype == np.float32
    assert np.isfinite(model.flat_grads).all() and np.abs(model.flat_grads).sum() > 0


def test_first_layer_skips_the_input_gradient():
    model = build_model([{"type": "dense", "units": 2}], (3,), np.float64, np.random.default_rng(0))
    layer = model.layers[0]
    layer.forward(np.ones((4, 3)), training=True)
    assert layer.backward(np.ones((4, 2))) is None
    assert np.allclose(model.grads["dense_1.b"], [4, 4])


@pytest.mark.parametrize("name,std", [("he_normal", np.sqrt(2 / 400)), ("xavier_normal", np.sqrt(2 / 600))])
def test_normal_initializers_have_the_published_spread(name, std):
    w = INITIALIZERS[name](np.empty((400, 200), np.float32), 400, 200, np.random.default_rng(0))
    assert w.dtype == np.float32
    assert abs(w.std() / std - 1) < 0.02


@pytest.mark.parametrize("name,limit", [("he_uniform", np.sqrt(6 / 400)), ("xavier_uniform", np.sqrt(6 / 600))])
def test_uniform_initializers_stay_within_their_limit(name, limit):
    w = INITIALIZERS[name](np.empty((400, 200)), 400, 200, np.random.default_rng(0))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit



@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializers_draw_in_place_in_the_model_dtype(name, dtype):
    """1M weights are drawn straight into their buffer: no float64 draw to cast from, no second copy."""
    import tracemalloc

    w = np.full((1000, 1000), np.nan, dtype=dtype)
    tracemalloc.start()
    try:
        result = INITIALIZERS[name](w, 1000, 1000, np.random.default_rng(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result is w and w.dtype == dtype and np.isfinite(w).all()
    assert peak < 0.01 * w.nbytes


@pytest.mark.parametrize("name", ["he_uniform", "xavier_uniform"])
def test_uniform_initializers_are_centred_in_float32(name):
    w = INITIALIZERS[name](np.empty((400, 200), np.float32), 400, 200, np.random.default_rng(0))
    limit = np.sqrt(6 / (400 if name == "he_uniform" else 600))
    assert w.dtype == np.float32 and np.abs(w).max() <= limit
    assert abs(float(w.mean())) < 0.01 * limit

def test_default_initializer_follows_the_activation():
    assert default_initializer("relu") == "he_normal"
    assert default_initializer("gelu") == "he_normal"
    assert default_initializer("tanh") == "xavier_uniform"
    assert default_initializer("linear") == "xavier_uniform"
    assert np.all(INITIALIZERS["zeros"](np.ones((3, 2), np.float32), 3, 2, None) == 0)


def test_dense_rejects_image_shaped_input_with_a_hint():
    with pytest.raises(ValueError, match="add a flatten layer"):
        build_model([{"type": "dense", "units": 2}], (4, 4, 1), np.float32, np.random.default_rng(0))


def test_same_seed_gives_identical_weights_and_outputs():
    specs = [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dropout", "rate": 0.5},
             {"type": "dense", "units": 2}]
    outputs = []
    for _ in range(2):
        model = build_model(specs, (3,), np.float32, np.random.default_rng(5), np.random.default_rng(6))
        outputs.append((model.flat_params.copy(), model.forward(np.ones((4, 3), np.float32), training=True)))
    assert np.array_equal(outputs[0][0], outputs[1][0])
    assert np.array_equal(outputs[0][1], outputs[1][1])


def test_l2_is_lambda_sum_of_squares_on_weights_only():
    """regularization.l2 = λ: penalty λ·Σw² over dense weights (gradient 2λ·w), nothing on biases or batchnorm."""
    specs = [{"type": "dense", "units": 2, "l2": 0.1}, {"type": "batchnorm"}, {"type": "dense", "units": 1, "l2": 0.1}]
    model = build_model(specs, (2,), np.float64, np.random.default_rng(0))
    model.params["dense_1.W"][...] = [[1.0, -2.0], [0.5, 3.0]]
    model.params["dense_2.W"][...] = [[2.0], [-1.0]]
    model.params["dense_1.b"][...] = 7.0
    model.params["batchnorm_1.gamma"][...] = 5.0
    assert model.penalty() == pytest.approx(0.1 * (1 + 4 + 0.25 + 9 + 4 + 1))
    model.flat_grads[...] = 0
    model.add_penalty_grads()
    assert np.allclose(model.grads["dense_1.W"], [[0.2, -0.4], [0.1, 0.6]], rtol=1e-15, atol=0)
    assert np.allclose(model.grads["dense_2.W"], [[0.4], [-0.2]], rtol=1e-15, atol=0)
    for name in ("dense_1.b", "dense_2.b", "batchnorm_1.gamma", "batchnorm_1.beta"):
        assert not model.grads[name].any(), name


def test_flatten_orders_each_image_height_width_channels():
    """NHWC, as Keras' channels_last: pixel (h, w) channel c lands at (h·W + w)·C + c (PyTorch flattens C, H, W)."""
    layer = LAYERS["flatten"]()
    layer.build((2, 2, 3), None, np.float64)
    x = np.zeros((1, 2, 2, 3))
    x[0, 0, 1, 0], x[0, 1, 0, 2] = 1.0, 2.0
    flat = layer.forward(x, training=False)[0]
    assert flat[(0 * 2 + 1) * 3 + 0] == 1.0 and flat[(1 * 2 + 0) * 3 + 2] == 2.0 and flat.sum() == 3.0
