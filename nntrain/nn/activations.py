"""Element-wise activations: each caches what its backward pass needs.

An activation is used on its own (the `activation` layer) or fused into a
dense or convolutional layer (the `activation:` shorthand).
"""

import numpy as np


class Activation:
    """Identity base: subclasses override `forward` and `backward`."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y


class Linear(Activation):
    """y = x."""


class ReLU(Activation):
    """y = max(x, 0)."""

    def forward(self, x):
        self._positive = x > 0
        return np.maximum(x, 0, out=x)

    def backward(self, grad_y):
        return np.multiply(grad_y, self._positive, out=grad_y)


class LeakyReLU(Activation):
    """y = x for x > 0, alpha·x otherwise."""

    def __init__(self, alpha: float = 0.01):
        self.alpha = alpha

    def forward(self, x):
        self._slope = np.where(x > 0, x.dtype.type(1), x.dtype.type(self.alpha))
        return np.multiply(x, self._slope, out=x)

    def backward(self, grad_y):
        return np.multiply(grad_y, self._slope, out=grad_y)


class ELU(Activation):
    """y = x for x > 0, alpha·(exp(x) − 1) otherwise; dy/dx = y + alpha below 0."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        self._positive = x > 0
        negative = self.alpha * np.expm1(np.minimum(x, 0))
        self._y = np.where(self._positive, x, negative).astype(x.dtype, copy=False)
        return self._y

    def backward(self, grad_y):
        slope = np.where(self._positive, 1, self._y + self.alpha).astype(grad_y.dtype, copy=False)
        return np.multiply(grad_y, slope, out=grad_y)


class GELU(Activation):
    """Gaussian error linear unit, tanh approximation (PyTorch approximate='tanh').

    y = 0.5·x·(1 + tanh(u)), u = c·(x + 0.044715·x³), c = sqrt(2/pi).
    """

    _C = np.sqrt(2.0 / np.pi)

    def forward(self, x):
        self._x = x.copy()
        self._t = np.tanh(self._C * (x + 0.044715 * x**3)).astype(x.dtype, copy=False)
        return 0.5 * x * (1 + self._t)

    def backward(self, grad_y):
        x, t = self._x, self._t
        du = self._C * (1 + 3 * 0.044715 * x**2)
        slope = 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * du
        return np.multiply(grad_y, slope.astype(grad_y.dtype, copy=False), out=grad_y)


class Sigmoid(Activation):
    """y = 1 / (1 + exp(−x)), computed without overflow; dy/dx = y·(1 − y)."""

    def forward(self, x):
        self._y = sigmoid(x)
        return self._y

    def backward(self, grad_y):
        return grad_y * self._y * (1 - self._y)


class Tanh(Activation):
    """y = tanh(x); dy/dx = 1 − y²."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_y):
        return grad_y * (1 - self._y * self._y)


class Softmax(Activation):
    """Softmax over the last axis; dx = y·(g − Σ g·y)."""

    def forward(self, x):
        self._y = softmax(x)
        return self._y

    def backward(self, grad_y):
        y = self._y
        return y * (grad_y - np.sum(grad_y * y, axis=-1, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large |x| and dtype-preserving."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum so exp never overflows."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


ACTIVATIONS: dict[str, type[Activation]] = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}

# Activations with a slope parameter `alpha`, and its default.
ALPHA_DEFAULTS = {"leaky_relu": 0.01, "elu": 1.0}


def make_activation(name: str, alpha: float | None = None) -> Activation:
    """Build an activation by its config name."""
    cls = ACTIVATIONS[name]
    if name in ALPHA_DEFAULTS:
        return cls(ALPHA_DEFAULTS[name] if alpha is None else alpha)
    return cls()
