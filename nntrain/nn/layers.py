"""Layers on any input shape (dense, dropout, batchnorm, activation, flatten), and the registry of every layer.

The interface is in nntrain/nn/layer.py; image layers (conv2d, pooling) are in nntrain/nn/conv.py.
"""

import math

import numpy as np

from nntrain.nn.activations import make_activation
from nntrain.nn.conv import AvgPool2D, Conv2D, GlobalAvgPool, MaxPool2D
from nntrain.nn.embedding import EmbeddingBag
from nntrain.nn.layer import Layer, WeightedLayer


class Dense(WeightedLayer):
    """Fully connected: y = act(x·W + b), W of shape (inputs, units)."""

    def __init__(self, units: int, activation: str = "linear", alpha: float | None = None,
                 init: str | None = None, l1: float = 0.0, l2: float = 0.0):
        super().__init__(activation, alpha, init, l1, l2)
        self.units = units

    def plan(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"dense needs flat input, got shape {tuple(input_shape)}; add a flatten layer before it")
        self._plan_weights((input_shape[0], self.units), input_shape[0], self.units, self.units)
        return (self.units,)

    def forward(self, x, training):
        self._x = x if training else None  # an evaluation batch (floats made from image pixels) is not kept
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
    `reduce`, when set, sums an array over the ranks of a data-parallel job in place: the batch
    means above are then those of the global batch (three more small reductions per step: the sums,
    the squared deviations, and backward's two means), so the result is the one-process one.
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5):
        super().__init__()
        self.momentum = momentum
        self.epsilon = epsilon
        self.reduce = None

    def plan(self, input_shape):
        channels = (input_shape[-1],)
        self.param_shapes = {"gamma": channels, "beta": channels}
        self.buffer_shapes = {"running_mean": channels, "running_var": channels}
        return tuple(input_shape)

    def initialize(self, rng):
        self.params["gamma"].fill(1)
        self.params["beta"].fill(0)
        self.buffers["running_mean"].fill(0)
        self.buffers["running_var"].fill(1)

    def forward(self, x, training):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean, var = (x.mean(axis=axes), x.var(axis=axes)) if self.reduce is None else self._moments(x, axes)
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
        if self.reduce is None:
            return self._inv_std * (dxhat - dxhat.mean(axis=axes) - xhat * (dxhat * xhat).mean(axis=axes))
        channels = dxhat.shape[-1]
        sums = np.concatenate([dxhat.sum(axis=axes, dtype=np.float64), (dxhat * xhat).sum(axis=axes, dtype=np.float64)])
        self.reduce(sums)
        means = (sums / self._count).astype(dxhat.dtype)
        return self._inv_std * (dxhat - means[:channels] - xhat * means[channels:])

    def _moments(self, x, axes):
        """Mean and variance over every rank's rows (two passes, as `x.var` takes, in float64)."""
        totals = np.append(x.sum(axis=axes, dtype=np.float64), x.size // x.shape[-1])
        self.reduce(totals)
        self._count = totals[-1]
        mean = totals[:-1] / self._count
        squares = ((x - mean.astype(x.dtype)) ** 2).sum(axis=axes, dtype=np.float64)
        self.reduce(squares)
        return mean.astype(x.dtype), (squares / self._count).astype(x.dtype)


class ActivationLayer(Layer):
    """An activation on its own, e.g. after batchnorm."""

    def __init__(self, activation: str, alpha: float | None = None):
        super().__init__()
        self.activation_name = activation
        self.act = make_activation(activation, alpha)

    def plan(self, input_shape):
        self._outputs = math.prod(input_shape)
        return tuple(input_shape)

    def scratch_size(self):
        return self.act.scratch * self._outputs

    def forward(self, x, training):
        return self.act.forward(x.copy())  # activations may overwrite their input

    def backward(self, grad_y):
        return self.act.backward(grad_y)


class Flatten(Layer):
    """Reshape each sample to one vector, e.g. between convolutions and dense layers."""

    def plan(self, input_shape):
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
    "conv2d": Conv2D,
    "maxpool2d": MaxPool2D,
    "avgpool2d": AvgPool2D,
    "global_avgpool": GlobalAvgPool,
    "embedding_bag": EmbeddingBag,
}
