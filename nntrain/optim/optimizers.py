"""Optimizers: update the model's flat parameter buffer from its flat gradient buffer.

Every optimizer keeps its state as named arrays the size of the parameter
buffer (saved with checkpoints) plus a step counter, and works in place with a
reused scratch buffer, so a step allocates nothing. (Splitting the update across
threads was measured slower in a real training loop: it is memory-bound.)
"""

import math

import numpy as np


class Optimizer:
    state_names: tuple[str, ...] = ()

    def bind(self, size: int, dtype, decay_mask: np.ndarray) -> None:
        """Allocate state for a parameter buffer of `size` elements."""
        self.state = {name: np.zeros(size, dtype=dtype) for name in self.state_names}
        self.decay_mask = decay_mask
        self.steps = 0
        self._scratch = np.empty(size, dtype=dtype)

    def step(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.steps += 1
        self._update(params, grads, lr)

    def _update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as in PyTorch.

    v ← μ·v + g;  p ← p − lr·v   (Nesterov: p ← p − lr·(g + μ·v)).
    """

    state_names = ("velocity",)

    def __init__(self, momentum: float = 0.0, nesterov: bool = False):
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, params, grads, lr):
        tmp = self._scratch
        if not self.momentum:
            np.multiply(grads, lr, out=tmp)
            params -= tmp
            return
        v = self.state["velocity"]
        v *= self.momentum
        v += grads
        if self.nesterov:
            np.multiply(v, self.momentum, out=tmp)
            tmp += grads
            tmp *= lr
        else:
            np.multiply(v, lr, out=tmp)
        params -= tmp


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), bias-corrected as in PyTorch.

    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
    p ← p − (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps).

    The state holds m/(1−β1) and v/(1−β2), which update as m ← β1·m + g and
    v ← β2·v + g²: the constant factors move into the step size, saving three
    passes over the parameters per step.
    """

    state_names = ("m", "v")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, params, grads, lr):
        m, v, tmp, g = self.state["m"], self.state["v"], self._scratch, grads
        m *= self.beta1
        m += g
        np.multiply(g, g, out=tmp)
        v *= self.beta2
        v += tmp
        root = math.sqrt((1 - self.beta2**self.steps) / (1 - self.beta2))
        np.sqrt(v, out=tmp)
        tmp += self.eps * root
        np.divide(m, tmp, out=tmp)
        tmp *= lr * (1 - self.beta1) * root / (1 - self.beta1**self.steps)
        params -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): p ← p − lr·wd·p, then Adam.

    Decay applies to weights only, never to biases or batchnorm parameters.
    """

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(beta1, beta2, eps)
        self.weight_decay = weight_decay

    def _update(self, params, grads, lr):
        if self.weight_decay:
            np.multiply(params, lr * self.weight_decay, out=self._scratch)
            self._scratch *= self.decay_mask
            params -= self._scratch
        super()._update(params, grads, lr)


class RMSprop(Optimizer):
    """RMSprop: v ← ρ·v + (1−ρ)·g²;  p ← p − lr·g / (sqrt(v) + eps)."""

    state_names = ("v",)

    def __init__(self, rho: float = 0.9, eps: float = 1e-8):
        self.rho, self.eps = rho, eps

    def _update(self, params, grads, lr):
        v, tmp = self.state["v"], self._scratch
        v *= self.rho
        np.multiply(grads, grads, out=tmp)
        tmp *= 1 - self.rho
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= lr
        params -= tmp


class Adagrad(Optimizer):
    """Adagrad: G ← G + g²;  p ← p − lr·g / (sqrt(G) + eps)."""

    state_names = ("sum_squares",)

    def __init__(self, eps: float = 1e-10):
        self.eps = eps

    def _update(self, params, grads, lr):
        total, tmp = self.state["sum_squares"], self._scratch
        np.multiply(grads, grads, out=tmp)
        total += tmp
        np.sqrt(total, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= lr
        params -= tmp


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}


def clip_gradients(grads: np.ndarray, max_norm: float | None, max_value: float | None) -> None:
    """Clip in place: each element to ±max_value, then the whole vector to L2 norm max_norm."""
    if max_value is not None:
        np.clip(grads, -max_value, max_value, out=grads)
    if max_norm is not None:
        norm = math.sqrt(float(np.vdot(grads, grads)))
        if norm > max_norm:
            grads *= max_norm / norm
