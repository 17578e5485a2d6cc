"""Weight initialisers: fill a weight tensor from its fan-in and fan-out.

Each takes (out, fan_in, fan_out, rng), draws into `out` in place and returns it: values are
drawn in the weights' own dtype, straight into the model's parameter buffer, so a float32 layer
never builds a float64 array (or any second copy) first.
He suits the ReLU family, Xavier (Glorot) suits tanh, sigmoid and linear units.
"""

import numpy as np


def _normal(out, std, rng):
    """Normal(0, std²)."""
    rng.standard_normal(dtype=out.dtype, out=out)
    out *= out.dtype.type(std)
    return out


def _uniform(out, limit, rng):
    """Uniform on ±limit: limit·(2u − 1), u uniform on [0, 1)."""
    rng.random(dtype=out.dtype, out=out)
    out *= out.dtype.type(2 * limit)
    out -= out.dtype.type(limit)
    return out


def he_normal(out, fan_in, fan_out, rng):
    """Normal with std sqrt(2 / fan_in) (He et al., 2015)."""
    return _normal(out, np.sqrt(2.0 / fan_in), rng)


def he_uniform(out, fan_in, fan_out, rng):
    """Uniform on ±sqrt(6 / fan_in)."""
    return _uniform(out, np.sqrt(6.0 / fan_in), rng)


def xavier_normal(out, fan_in, fan_out, rng):
    """Normal with std sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    return _normal(out, np.sqrt(2.0 / (fan_in + fan_out)), rng)


def xavier_uniform(out, fan_in, fan_out, rng):
    """Uniform on ±sqrt(6 / (fan_in + fan_out))."""
    return _uniform(out, np.sqrt(6.0 / (fan_in + fan_out)), rng)


def zeros(out, fan_in, fan_out, rng):
    """All zeros (useful for output layers and tests, not for hidden layers)."""
    out.fill(0)
    return out


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
