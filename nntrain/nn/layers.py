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


LAYERS: dict[str, type[Layer]] = {
    "dense": Dense,
    "dropout": Dropout,
    "batchnorm": BatchNorm,
    "activation": ActivationLayer,
    "flatten": Flatten,
}
