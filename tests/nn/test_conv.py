"""Convolution and pooling: forward against naive loops, output shapes, padding, dtypes, errors."""

import numpy as np
import pytest

from nntrain.nn.layers import LAYERS
from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model
from nntrain.nn.windows import padding_amounts


def naive_conv(x, w, b, stride, pads):
    """Cross-correlation by explicit loops over samples, output pixels and filters."""
    (sh, sw), ((top, bottom), (left, right)) = stride, pads
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, _, filters = w.shape
    n, height, width, _ = x.shape
    out = np.zeros((n, (height - kh) // sh + 1, (width - kw) // sw + 1, filters))
    for s in range(n):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                window = x[s, r * sh:r * sh + kh, c * sw:c * sw + kw, :]
                for f in range(filters):
                    out[s, r, c, f] = np.sum(window * w[..., f]) + b[f]
    return out


def naive_pool(x, size, stride, reduce):
    (ph, pw), (sh, sw) = size, stride
    n, height, width, channels = x.shape
    out = np.zeros((n, (height - ph) // sh + 1, (width - pw) // sw + 1, channels))
    for s in range(n):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                for k in range(channels):
                    out[s, r, c, k] = reduce(x[s, r * sh:r * sh + ph, c * sw:c * sw + pw, k])
    return out


def built(kind, input_shape, dtype=np.float64, **options):
    layer = LAYERS[kind](**options)
    shape = layer.build(input_shape, np.random.default_rng(0), dtype)
    return layer, shape


CONV_FORWARD_CASES = [  # (options, input (H, W, C), expected output (Ho, Wo), pads)
    ({"kernel": 3}, (6, 5, 1), (4, 3), ((0, 0), (0, 0))),
    ({"kernel": [2, 3], "stride": [2, 1]}, (7, 6, 3), (3, 4), ((0, 0), (0, 0))),
    ({"kernel": 3, "padding": "same"}, (5, 6, 2), (5, 6), ((1, 1), (1, 1))),
    ({"kernel": 3, "stride": 2, "padding": "same"}, (7, 8, 3), (4, 4), ((1, 1), (0, 1))),
    ({"kernel": [4, 5], "stride": 2, "padding": "same"}, (9, 10, 1), (5, 5), ((1, 2), (1, 2))),
    ({"kernel": 1, "stride": 3, "padding": "same"}, (7, 6, 2), (3, 2), ((0, 0), (0, 0))),
    ({"kernel": [3, 2], "stride": [1, 2], "padding": 2}, (4, 5, 3), (6, 4), ((2, 2), (2, 2))),
]


@pytest.mark.parametrize("options,input_shape,out,pads", CONV_FORWARD_CASES)
def test_conv2d_forward_matches_naive_loops(options, input_shape, out, pads):
    layer, shape = built("conv2d", input_shape, filters=4, **options)
    assert shape == (*out, 4)
    layer.params["b"][...] = np.arange(4) * 0.5
    x = np.random.default_rng(1).standard_normal((3, *input_shape))
    y = layer.forward(x, training=True)
    assert y.shape == (3, *out, 4)
    assert np.allclose(y, naive_conv(x, layer.params["W"], layer.params["b"], layer.stride, pads))


def test_same_padding_follows_the_tensorflow_rule():
    assert padding_amounts(28, 5, 1, "same") == (2, 2)
    assert padding_amounts(7, 3, 2, "same") == (1, 1)
    assert padding_amounts(8, 3, 2, "same") == (0, 1)  # the odd pixel goes after
    assert padding_amounts(6, 1, 4, "same") == (0, 0)  # never negative
    assert padding_amounts(9, 4, 1, "valid") == (0, 0)
    assert padding_amounts(9, 4, 1, 3) == (3, 3)


def test_conv2d_fused_activation_and_summary_name():
    layer, _ = built("conv2d", (4, 4, 2), filters=3, kernel=2, activation="relu")
    x = np.random.default_rng(2).standard_normal((2, 4, 4, 2))
    plain, _ = built("conv2d", (4, 4, 2), filters=3, kernel=2)
    plain.params["W"][...] = layer.params["W"]
    assert np.allclose(layer.forward(x, training=False), np.maximum(plain.forward(x, training=False), 0))
    assert layer.activation_name == "relu" and layer.init == "he_normal"
    assert layer.penalized == ("W",)


@pytest.mark.parametrize("size,stride,input_shape,out", [
    (2, None, (4, 6, 2), (2, 3)),
    (2, None, (5, 7, 1), (2, 3)),  # floor: the last row and column are in no window
    ([2, 3], [3, 4], (7, 8, 2), (2, 2)),
    (3, 1, (5, 4, 2), (3, 2)),
    ([3, 2], [2, 1], (7, 5, 3), (3, 4)),
])
@pytest.mark.parametrize("kind,reduce", [("maxpool2d", np.max), ("avgpool2d", np.mean)])
def test_pooling_forward_matches_naive_loops(kind, reduce, size, stride, input_shape, out):
    layer, shape = built(kind, input_shape, size=size, stride=stride)
    assert shape == (*out, input_shape[2])
    x = np.random.default_rng(3).standard_normal((3, *input_shape))
    y = layer.forward(x, training=True)
    assert np.allclose(y, naive_pool(x, layer.size, layer.stride, reduce))


def test_maxpool_gradient_goes_to_one_input_per_window_on_ties():
    layer, _ = built("maxpool2d", (4, 4, 1), size=2)
    layer.forward(np.ones((1, 4, 4, 1)), training=True)
    dx = layer.backward(np.arange(1.0, 5.0).reshape(1, 2, 2, 1))
    assert dx[0, :, :, 0].tolist() == [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]


def test_overlapping_maxpool_adds_gradients_of_windows_sharing_a_maximum():
    x = np.zeros((1, 1, 4, 1))
    x[0, 0, 1, 0] = 5.0  # the maximum of both windows that contain column 1
    layer, _ = built("maxpool2d", (1, 4, 1), size=[1, 2], stride=1)
    assert layer.forward(x, training=True)[0, 0, :, 0].tolist() == [5, 5, 0]
    assert layer.backward(np.array([2.0, 3.0, 7.0]).reshape(1, 1, 3, 1))[0, 0, :, 0].tolist() == [0, 5, 7, 0]


def test_global_avgpool_averages_each_channel():
    layer, shape = built("global_avgpool", (3, 4, 2))
    assert shape == (2,)
    x = np.random.default_rng(4).standard_normal((5, 3, 4, 2))
    assert np.allclose(layer.forward(x, training=True), x.mean(axis=(1, 2)))


LENET = [
    {"type": "conv2d", "filters": 6, "kernel": 5, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "size": 2},
    {"type": "conv2d", "filters": 16, "kernel": 5, "activation": "relu"},
    {"type": "avgpool2d", "size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 120, "activation": "relu"},
    {"type": "dense", "units": 10, "name": "output"},
]


def test_model_shapes_and_parameter_counts():
    model = build_model([{"type": "conv2d", "filters": 6, "kernel": 5}], (28, 28, 1), np.float32,
                        np.random.default_rng(0))
    assert model.shapes == [(24, 24, 6)] and model.parameter_count() == 156
    model = build_model(LENET, (28, 28, 1), np.float32, np.random.default_rng(0))
    assert model.shapes == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (10,)]
    assert model.parameter_count() == 156 + 2416 + 48120 + 1210
    assert model.params["conv2d_2.W"].shape == (5, 5, 6, 16)
    assert model.decay_mask.sum() == 150 + 2400 + 48000 + 1200  # weights only


def test_float32_stays_float32_through_every_image_layer():
    specs = [*LENET[:1], {"type": "batchnorm"}, {"type": "maxpool2d", "size": 3, "stride": 2},
             {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": 1, "activation": "gelu"},
             {"type": "avgpool2d", "size": 2, "stride": 1}, {"type": "global_avgpool"},
             {"type": "dense", "units": 3}]
    model = build_model(specs, (12, 10, 2), np.float32, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 12, 10, 2)).astype(np.float32)
    outputs = []
    for layer in model.layers:
        x = layer.forward(x, training=True)
        outputs.append(x.dtype)
    assert outputs == [np.float32] * len(specs)
    _, grad = LOSSES["cross_entropy"]().value_and_grad(x, np.arange(5) % 3)
    for layer in reversed(model.layers[1:]):
        grad = layer.backward(grad)
        assert grad.dtype == np.float32, type(layer).__name__
    assert model.layers[0].backward(grad) is None
    assert model.flat_grads.dtype == np.float32
    assert np.isfinite(model.flat_grads).all() and np.abs(model.grads["conv2d_1.W"]).sum() > 0


@pytest.mark.parametrize("spec", [{"type": "conv2d", "filters": 2, "kernel": 3},
                                  {"type": "maxpool2d", "size": 2}, {"type": "avgpool2d", "size": 2},
                                  {"type": "global_avgpool"}])
def test_first_layer_skips_the_input_gradient(spec):
    model = build_model([spec], (4, 4, 1), np.float64, np.random.default_rng(0))
    layer = model.layers[0]
    y = layer.forward(np.ones((2, 4, 4, 1)), training=True)
    assert layer.backward(np.ones_like(y)) is None
    if spec["type"] == "conv2d":
        assert np.allclose(model.grads["conv2d_1.b"], 2 * 2 * 2)  # Σ over batch and the 2×2 outputs


@pytest.mark.parametrize("kind,options", [("conv2d", {"filters": 2, "kernel": 3}), ("maxpool2d", {"size": 2}),
                                          ("avgpool2d", {"size": 2}), ("global_avgpool", {})])
def test_image_layers_reject_flat_input(kind, options):
    message = rf"layer {kind}_1: {kind} needs image input \(height, width, channels\), got shape \(12,\)"
    with pytest.raises(ValueError, match=message):
        build_model([{"type": kind, **options}], (12,), np.float32, np.random.default_rng(0))


def test_windows_that_do_not_fit_are_rejected():
    with pytest.raises(ValueError, match="kernel 5x5 does not fit its 4x4 input"):
        build_model([{"type": "conv2d", "filters": 2, "kernel": 5}], (4, 4, 1), np.float32, np.random.default_rng(0))
    build_model([{"type": "conv2d", "filters": 2, "kernel": 5, "padding": "same"}], (4, 4, 1), np.float32,
                np.random.default_rng(0))
    with pytest.raises(ValueError, match="window 3x3 does not fit its 2x5 input"):
        build_model([{"type": "maxpool2d", "size": 3}], (2, 5, 1), np.float32, np.random.default_rng(0))


@pytest.mark.parametrize("options,message", [
    ({"kernel": [3, 3, 3]}, "kernel must be a positive integer or a pair"),
    ({"kernel": 0}, "kernel must be a positive integer"),
    ({"kernel": 3, "stride": [1, 0]}, "stride must be a positive integer"),
    ({"kernel": 3, "stride": None}, "stride must be a positive integer"),
    ({"kernel": "3"}, "kernel must be a positive integer"),
    ({"kernel": 3, "padding": "full"}, "padding must be 'valid', 'same' or a non-negative integer"),
    ({"kernel": 3, "padding": -1}, "padding must be"),
])
def test_conv2d_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        built("conv2d", (8, 8, 1), filters=2, **options)


@pytest.mark.parametrize("channels,kernel,stride,padding", [(1, 3, 1, "same"), (1, 5, 1, "same"), (2, 3, 2, 1),
                                                           (3, 3, 1, "valid")])
def test_offset_major_windows_give_im2cols_results_to_rounding(channels, kernel, stride, padding):
    """Short window rows (kw·C_in ≤ 9) are gathered offset by offset. The matrix is the same, stored transposed,
    so BLAS may pick another kernel for a product and round differently: within 1e-6 of the largest value."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 9, 8, channels)).astype(np.float32)
    grad = None
    results = []
    for offset_major in (True, False):
        layer, _ = built("conv2d", (9, 8, channels), np.float32, filters=4, kernel=kernel, stride=stride,
                         padding=padding, activation="relu")
        assert layer._offset_major  # every case here has short rows
        layer._offset_major = offset_major
        y = layer.forward(x, training=True)
        grad = rng.standard_normal(y.shape).astype(np.float32) if grad is None else grad
        dx = layer.backward(grad.copy())
        results.append((y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for new, old in zip(*results):
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-6 * np.abs(old).max())
