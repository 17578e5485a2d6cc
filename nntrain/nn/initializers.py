"""Weight initialisers: draw a weight tensor from fan-in and fan-out.

Each takes (shape, fan_in, fan_out, rng, dtype) and returns a new array, drawn in `dtype` (a
float32 layer never builds a float64 copy first).
He suits the ReLU family, Xavier (Glorot) suits tanh, sigmoid and linear units.
"""

import numpy as np


def _normal(shape, std, rng, dtype):
    """Normal(0, std²) drawn directly in `dtype` (float32 draws use half the memory and no cast)."""
    values = rng.standard_normal(shape, dtype=dtype)
    values *= values.dtype.type(std)
    return values


def _uniform(shape, limit, rng, dtype):
    """Uniform on ±limit drawn directly in `dtype`: limit·(2u − 1), u uniform on [0, 1)."""
    values = rng.random(shape, dtype=dtype)
    values *= values.dtype.type(2 * limit)
    values -= values.dtype.type(limit)
    return values


def he_normal(shape, fan_in, fan_out, rng, dtype):
    """Normal with std sqrt(2 / fan_in) (He et al., 2015)."""
    return _normal(shape, np.sqrt(2.0 / fan_in), rng, dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    """Uniform on ±sqrt(6 / fan_in)."""
    return _uniform(shape, np.sqrt(6.0 / fan_in), rng, dtype)


def xavier_normal(shape, fan_in, fan_out, rng, dtype):
    """Normal with std sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    return _normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def xavier_uniform(shape, fan_in, fan_out, rng, dtype):
    """Uniform on ±sqrt(6 / (fan_in + fan_out))."""
    return _uniform(shape, np.sqrt(6.0 / (fan_in + fan_out)), rng, dtype)


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

_RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu", "gelu_tanh"}


def default_initializer(activation: str) -> str:
    """He for the ReLU family, Xavier uniform for everything else."""
    return "he_normal" if activation in _RELU_FAMILY else "xavier_uniform"
