"""Element-wise activations: each caches what its backward pass needs.

An activation is used on its own (the `activation` layer) or fused into a
dense or convolutional layer (the `activation:` shorthand).
"""

import numpy as np


class Activation:
    """Identity base: subclasses override `forward` and `backward`."""

    # Output-sized arrays held at the peak of forward or backward beyond the one cache every
    # activation may keep (a mask, or y); counted by the memory estimate (nntrain/nn/memory.py).
    scratch = 0

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
    """Gaussian error linear unit, exact form (PyTorch nn.GELU(), Keras gelu): y = x·Φ(x).

    Φ(x) = 0.5·(1 + erf(x/√2)) is the standard normal CDF; dy/dx = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
    """

    scratch = 3  # keeps x and Φ(x); erf's temporaries (measured)

    def forward(self, x):
        self._x = x.copy()
        self._cdf = 0.5 * (1 + erf(x * x.dtype.type(_SQRT_HALF)))
        return np.multiply(x, self._cdf, out=x)

    def backward(self, grad_y):
        x = self._x
        pdf = np.exp(-0.5 * x * x) * x.dtype.type(_INV_SQRT_2PI)
        return np.multiply(grad_y, self._cdf + x * pdf, out=grad_y)


class GELUTanh(Activation):
    """GELU, tanh approximation (PyTorch approximate='tanh'; nntrain's `gelu` before 0.2.0).

    y = 0.5·x·(1 + tanh(u)), u = c·(x + 0.044715·x³), c = sqrt(2/pi).
    """

    scratch = 3  # keeps x and tanh(u); the temporaries of the slope (measured)

    _C = np.sqrt(2.0 / np.pi)  # a float64 scalar, as in 0.1: runs trained then (as gelu) predict as they did

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

_SQRT_HALF = np.sqrt(0.5)
_INV_SQRT_2PI = 1 / np.sqrt(2 * np.pi)

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
# as in his CALERF routine (SPECFUN): erf on |x| ≤ 0.46875, erfc on (0.46875, 4] and beyond 4.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
           8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
           2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
           3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
           6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
           2.33520497626869185e-3)
_INV_SQRT_PI = 5.6418958354775628695e-1


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, element-wise and dtype-preserving (NumPy has none; scipy is not a dependency).

    Cody's rational approximations, accurate to a few units in the last place of float64. Each of
    the three ranges is evaluated only on the elements in it.
    """
    x = np.asarray(x)
    y = np.abs(x)
    out = np.empty_like(x)
    small, middle = y <= 0.46875, (y > 0.46875) & (y <= 4)
    large = ~(small | middle)  # also NaN, which stays NaN
    out[small] = x[small] * _ratio(_ERF_A, _ERF_B, y[small] ** 2)
    out[middle] = _one_minus_erfc(y[middle], _ratio(_ERFC_C, _ERFC_D, y[middle]))
    yl = np.minimum(y[large], 27)  # erfc(27) underflows float64 already; inf − inf would be NaN
    inv_sq = 1 / (yl * yl)
    out[large] = _one_minus_erfc(yl, (_INV_SQRT_PI - inv_sq * _ratio(_ERFC_P, _ERFC_Q, inv_sq)) / yl)
    np.negative(out, out=out, where=(x < 0) & ~small)
    return out


def _ratio(numerator: tuple, denominator: tuple, t: np.ndarray) -> np.ndarray:
    """Cody's rational function: numerator[-1] is the leading coefficient, the denominator is monic."""
    top, bottom = numerator[-1] * t, t
    for a, b in zip(numerator[:-2], denominator[:-1]):
        top, bottom = (top + a) * t, (bottom + b) * t
    return (top + numerator[-2]) / (bottom + denominator[-1])


def _one_minus_erfc(y: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """1 − erfc(y) from erfc(y) = exp(−y²)·scaled; y² is split at a multiple of 1/16 so exp loses nothing."""
    rounded = np.trunc(y * 16) / 16
    erfc = np.exp(-rounded * rounded) * np.exp(-(y - rounded) * (y + rounded)) * scaled
    return (0.5 - erfc) + 0.5


ACTIVATIONS: dict[str, type[Activation]] = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "gelu_tanh": GELUTanh,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}

# Activations with a slope parameter `alpha`, and its default.
ALPHA_DEFAULTS = {"leaky_relu": 0.01, "elu": 1.0}


def make_activation(name: str, alpha: float | None = None) -> Activation:
    """Build an activation by its config name (configs are validated first; a checkpoint may name anything)."""
    cls = ACTIVATIONS.get(name)
    if cls is None:
        raise ValueError(f"unknown activation {name!r}")
    if name in ALPHA_DEFAULTS:
        return cls(ALPHA_DEFAULTS[name] if alpha is None else alpha)
    return cls()
