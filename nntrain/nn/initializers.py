"""Weight initialisers: draw a weight tensor from fan-in and fan-out.

Each takes (shape, fan_in, fan_out, rng, dtype) and returns a new array.
He suits the ReLU family, Xavier (Glorot) suits tanh, sigmoid and linear units.
"""

import numpy as np


def he_normal(shape, fan_in, fan_out, rng, dtype):
    """Normal with std sqrt(2 / fan_in) (He et al., 2015)."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    """Uniform on ±sqrt(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


def xavier_normal(shape, fan_in, fan_out, rng, dtype):
    """Normal with std sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def xavier_uniform(shape, fan_in, fan_out, rng, dtype):
    """Uniform on ±sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def zeros(shape, fan_in, fan_out, rng, dtype):
    """All zeros (useful for output layers and tests, not for hidden layers)."""
    return np.zeros(shape, dtype=dtype)


INITIALIZERS = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "zeros": zeros,
}

_RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu"}


def default_initializer(activation: str) -> str:
    """He for the ReLU family, Xavier uniform for everything else."""
    return "he_normal" if activation in _RELU_FAMILY else "xavier_uniform"
