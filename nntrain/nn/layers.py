"""Layers: each builds its parameters, runs forward on a batch, and back-propagates.

Interface, shared by every layer:
  build(input_shape, rng, dtype) -> output_shape   (shapes exclude the batch axis; rng draws initial weights)
  forward(x, training) -> y                        (caches only what backward needs)
  backward(grad_y) -> grad_x                       (fills self.grads; None if not needed)

Parameters and their gradients are named arrays in `params` and `grads`. The model
rebinds them to views of one flat buffer, so layers always write gradients in
place (`out=`) and read parameters through the dicts.
"""

import numpy as np

from nntrain.nn.activations import make_activation
from nntrain.nn.initializers import INITIALIZERS, default_initializer
from nntrain.nn.windows import im2col, offset_slices, output_size, padding_amounts, pair


class Layer:
    """Base layer: no parameters, identity forward and backward."""

    penalized: tuple[str, ...] = ()  # parameters that L1/L2 and weight decay apply to
    stochastic = False  # draws from the model's noise generator (`self.rng`) in training

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.l1 = 0.0
        self.l2 = 0.0
        self.input_grad = True  # the model turns this off for the first layer

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator, dtype) -> tuple[int, ...]:
        return input_shape

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        return grad_y

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)


class Dense(Layer):
    """Fully connected: y = act(x·W + b), W of shape (inputs, units)."""

    penalized = ("W",)

    def __init__(self, units: int, activation: str = "linear", alpha: float | None = None,
                 init: str | None = None, l1: float = 0.0, l2: float = 0.0):
        super().__init__()
        self.units = units
        self.activation_name = activation
        self.act = make_activation(activation, alpha)
        self.init = init or default_initializer(activation)
        self.l1, self.l2 = l1, l2

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 1:
            raise ValueError(f"dense needs flat input, got shape {input_shape}; add a flatten layer before it")
        fan_in = input_shape[0]
        self._add_param("W", INITIALIZERS[self.init]((fan_in, self.units), fan_in, self.units, rng, dtype))
        self._add_param("b", np.zeros(self.units, dtype=dtype))
        return (self.units,)

    def forward(self, x, training):
        self._x = x
        z = x @ self.params["W"]
        z += self.params["b"]
        return self.act.forward(z)

    def backward(self, grad_y):
        g = self.act.backward(grad_y)
        np.matmul(self._x.T, g, out=self.grads["W"])
        np.sum(g, axis=0, out=self.grads["b"])
        return g @ self.params["W"].T if self.input_grad else None


class Dropout(Layer):
    """Inverted dropout: zero a fraction `rate` of inputs in training, scale the rest by 1/(1−rate)."""

    stochastic = True

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x, training):
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
        self._mask = keep * x.dtype.type(1 / (1 - self.rate))
        return x * self._mask

    def backward(self, grad_y):
        return grad_y if self._mask is None else grad_y * self._mask


class BatchNorm(Layer):
    """Batch normalisation over every axis but the last (features, or image channels).

    Training uses batch statistics and updates running ones:
      running = momentum·running + (1 − momentum)·batch.
    Evaluation uses the running statistics. Backward, with x̂ = (x − μ)/σ and dx̂ = dy·γ:
      training:   dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))   (means over the batch, per channel)
      evaluation: dx = dx̂/σ                                        (statistics are constants)
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5):
        super().__init__()
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape, rng, dtype):
        channels = input_shape[-1]
        self._add_param("gamma", np.ones(channels, dtype=dtype))
        self._add_param("beta", np.zeros(channels, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(channels, dtype=dtype)
        self.buffers["running_var"] = np.ones(channels, dtype=dtype)
        return input_shape

    def forward(self, x, training):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            m = self.momentum
            running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
            running_mean *= m
            running_mean += (1 - m) * mean
            running_var *= m
            running_var += (1 - m) * var
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self._training = training
        self._inv_std = 1 / np.sqrt(var + x.dtype.type(self.epsilon))
        self._xhat = (x - mean) * self._inv_std
        return self._xhat * self.params["gamma"] + self.params["beta"]

    def backward(self, grad_y):
        axes = tuple(range(grad_y.ndim - 1))
        xhat = self._xhat
        np.sum(grad_y * xhat, axis=axes, out=self.grads["gamma"])
        np.sum(grad_y, axis=axes, out=self.grads["beta"])
        if not self.input_grad:
            return None
        dxhat = grad_y * self.params["gamma"]
        if not self._training:
            return dxhat * self._inv_std
        return self._inv_std * (dxhat - dxhat.mean(axis=axes) - xhat * (dxhat * xhat).mean(axis=axes))


class ActivationLayer(Layer):
    """An activation on its own, e.g. after batchnorm."""

    def __init__(self, activation: str, alpha: float | None = None):
        super().__init__()
        self.activation_name = activation
        self.act = make_activation(activation, alpha)

    def forward(self, x, training):
        return self.act.forward(x.copy())  # activations may overwrite their input

    def backward(self, grad_y):
        return self.act.backward(grad_y)


class Flatten(Layer):
    """Reshape each sample to one vector, e.g. between convolutions and dense layers."""

    def build(self, input_shape, rng, dtype):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training):
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_y):
        return grad_y.reshape(self._shape)


def _image_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"{kind} needs image input (height, width, channels), got shape {tuple(input_shape)}")
    return input_shape


class Conv2D(Layer):
    """2-D convolution of NHWC images as one matrix product: y = act(im2col(x)·W + b).

    W has shape (kh, kw, C_in, filters), the same order as an im2col row, so the
    product is cols (N·Ho·Wo, kh·kw·C_in) · W (kh·kw·C_in, filters). With g = dL/dz
    as an (N·Ho·Wo, filters) matrix:
      dW = colsᵀ·g,  db = Σ g,  dcols = g·Wᵀ,  dx = col2im(dcols), cropped to the unpadded input.
    col2im adds each kernel offset's columns back onto the pixels they were copied from; dcols is
    computed one offset at a time, g·W[i, j]ᵀ, so each add reads a contiguous block (see benchmarks/).
    """

    penalized = ("W",)

    def __init__(self, filters: int, kernel: int | list[int], stride: int | list[int] = 1,
                 padding: str | int = "valid", activation: str = "linear", alpha: float | None = None,
                 init: str | None = None, l1: float = 0.0, l2: float = 0.0):
        super().__init__()
        self.filters = filters
        self.kernel = pair(kernel, "kernel")
        self.stride = pair(stride, "stride")
        self.padding = padding
        self.activation_name = activation
        self.act = make_activation(activation, alpha)
        self.init = init or default_initializer(activation)
        self.l1, self.l2 = l1, l2

    def build(self, input_shape, rng, dtype):
        height, width, channels = _image_shape(input_shape, "conv2d")
        (kh, kw), (sh, sw) = self.kernel, self.stride
        self._pads = (padding_amounts(height, kh, sh, self.padding), padding_amounts(width, kw, sw, self.padding))
        padded = (height + sum(self._pads[0]), width + sum(self._pads[1]))
        if padded[0] < kh or padded[1] < kw:
            raise ValueError(f"conv2d kernel {kh}x{kw} does not fit its {padded[0]}x{padded[1]} input "
                             f"(padding {self.padding!r}); use a smaller kernel or padding: same")
        self._out = (output_size(padded[0], kh, sh), output_size(padded[1], kw, sw))
        self._padded_shape = padded
        self._slices = offset_slices(self.kernel, self.stride, self._out)
        shape = (kh, kw, channels, self.filters)
        self._add_param("W", INITIALIZERS[self.init](shape, kh * kw * channels, kh * kw * self.filters, rng, dtype))
        self._add_param("b", np.zeros(self.filters, dtype=dtype))
        return (*self._out, self.filters)

    def forward(self, x, training):
        n = len(x)
        kernel_w = self.params["W"]
        cols = np.empty((n, *self._out, *kernel_w.shape[:3]), dtype=x.dtype)
        im2col(self._pad(x), self.kernel, self.stride, cols)
        self._cols = cols if training else None
        z = cols.reshape(-1, cols[0, 0, 0].size) @ kernel_w.reshape(-1, self.filters)
        z = z.reshape(-1, self._out[1] * self.filters)  # rows of Wo·filters: long strides, fast even for few filters
        z += np.tile(self.params["b"], self._out[1])
        return self.act.forward(z.reshape(n, *self._out, self.filters))

    def backward(self, grad_y):
        g = self.act.backward(grad_y).reshape(-1, self.filters)
        cols = self._cols.reshape(len(g), -1)
        np.matmul(cols.T, g, out=self.grads["W"].reshape(cols.shape[1], self.filters))
        by_column = g.reshape(-1, self._out[1] * self.filters).sum(axis=0)  # as in forward: rows of Wo·filters
        np.sum(by_column.reshape(-1, self.filters), axis=0, out=self.grads["b"])
        if not self.input_grad:
            return None
        kernel_w = self.params["W"]
        n, channels = len(grad_y), kernel_w.shape[2]
        dx = np.zeros((n, *self._padded_shape, channels), dtype=g.dtype)
        dcols = np.empty((len(g), channels), dtype=g.dtype)
        for (i, j), rows, columns in self._slices:
            np.matmul(g, kernel_w[i, j].T, out=dcols)
            dx[:, rows, columns] += dcols.reshape(n, *self._out, channels)
        (top, bottom), (left, right) = self._pads
        return dx[:, top:dx.shape[1] - bottom, left:dx.shape[2] - right]

    def _pad(self, x):
        (top, bottom), (left, right) = self._pads
        if not (top or bottom or left or right):
            return x
        padded = np.zeros((len(x), *self._padded_shape, x.shape[3]), dtype=x.dtype)
        padded[:, top:top + x.shape[1], left:left + x.shape[2]] = x
        return padded


class _Pool2D(Layer):
    """Shared shape logic of pooling: size×size windows every `stride` pixels, whole windows only."""

    kind = ""

    def __init__(self, size: int | list[int], stride: int | list[int] | None = None):
        super().__init__()
        self.size = pair(size, "size")
        self.stride = self.size if stride is None else pair(stride, "stride")

    def build(self, input_shape, rng, dtype):
        height, width, channels = _image_shape(input_shape, self.kind)
        (ph, pw), (sh, sw) = self.size, self.stride
        if height < ph or width < pw:
            raise ValueError(f"{self.kind} window {ph}x{pw} does not fit its {height}x{width} input")
        out = (output_size(height, ph, sh), output_size(width, pw, sw))
        self._slices = offset_slices(self.size, self.stride, out)
        self._disjoint = sh >= ph and sw >= pw  # each input pixel is in at most one window
        return (*out, channels)

    def _scatter(self, dx, rows, columns, values):
        """Route one window offset's gradient to its pixels: added where windows overlap, written where not."""
        if self._disjoint:
            dx[:, rows, columns] = values
        else:
            dx[:, rows, columns] += values


class MaxPool2D(_Pool2D):
    """Maximum of each window; the gradient goes to the input that held it (the first one on ties).

    Forward keeps, per output, the index of the winning offset in the window (a small integer
    array); backward routes dy to that offset, one offset at a time, adding where windows overlap.
    """

    kind = "maxpool2d"

    def forward(self, x, training):
        (_, rows, columns), *rest = self._slices
        y = x[:, rows, columns].copy()
        # Offsets are visited in increasing order, so the offset that last raised the running maximum,
        # max(winner, index·[window > y]), is the first one holding the window's maximum.
        winner = np.zeros(y.shape, dtype=np.min_scalar_type(len(self._slices) - 1))
        window, raised, candidate = np.empty_like(y), np.empty(y.shape, dtype=bool), np.empty_like(winner)
        for index, (_, rows, columns) in enumerate(rest, start=1):
            np.copyto(window, x[:, rows, columns])  # one strided read; the rest runs on contiguous arrays
            np.greater(window, y, out=raised)
            np.multiply(raised, winner.dtype.type(index), out=candidate)
            np.maximum(winner, candidate, out=winner)
            np.maximum(y, window, out=y)
        self._winner, self._input_shape = winner, x.shape
        return y

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        dx = np.zeros(self._input_shape, dtype=grad_y.dtype)
        for index, (_, rows, columns) in enumerate(self._slices):
            self._scatter(dx, rows, columns, grad_y * (self._winner == index))
        return dx


class AvgPool2D(_Pool2D):
    """Mean of each window; each input gets dy / (ph·pw) from every window that contains it."""

    kind = "avgpool2d"

    def forward(self, x, training):
        (_, rows, columns), *rest = self._slices
        y = x[:, rows, columns].copy()
        for _, rows, columns in rest:
            y += x[:, rows, columns]
        y *= x.dtype.type(1 / len(self._slices))
        self._input_shape = x.shape
        return y

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        share = grad_y * grad_y.dtype.type(1 / len(self._slices))
        dx = np.zeros(self._input_shape, dtype=grad_y.dtype)
        for _, rows, columns in self._slices:
            self._scatter(dx, rows, columns, share)
        return dx


class GlobalAvgPool(Layer):
    """Mean of each channel over the whole image, (N, H, W, C) -> (N, C); dx = dy / (H·W) at every pixel."""

    def build(self, input_shape, rng, dtype):
        return (_image_shape(input_shape, "global_avgpool")[2],)

    def forward(self, x, training):
        self._input_shape = x.shape
        return x.mean(axis=(1, 2))

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        n, height, width, channels = self._input_shape
        dx = np.empty(self._input_shape, dtype=grad_y.dtype)
        dx[...] = (grad_y * grad_y.dtype.type(1 / (height * width)))[:, None, None, :]
        return dx


LAYERS: dict[str, type[Layer]] = {
    "dense": Dense,
    "dropout": Dropout,
    "batchnorm": BatchNorm,
    "activation": ActivationLayer,
    "flatten": Flatten,
    "conv2d": Conv2D,
    "maxpool2d": MaxPool2D,
    "avgpool2d": AvgPool2D,
    "global_avgpool": GlobalAvgPool,
}
