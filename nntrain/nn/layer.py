"""The layer interface, and the base that dense and conv2d share.

Every layer:
  plan(input_shape) -> output_shape    (checks the input; fills `param_shapes` and `buffer_shapes`;
                                        allocates nothing, so a model of any size can be planned)
  initialize(rng)                      (fills `params` and `buffers`, bound to arrays of the planned shapes)
  forward(x, training) -> y            (caches only what backward needs)
  backward(grad_y) -> grad_x           (fills self.grads; None if not needed)
  build(input_shape, rng, dtype)       (plan, allocate and initialise: a layer on its own, as in tests)
Shapes exclude the batch axis.

Parameters and their gradients are named arrays in `params` and `grads`. The model
binds them to views of one flat buffer, so layers always write gradients in
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
        self.param_shapes: dict[str, tuple[int, ...]] = {}
        self.buffer_shapes: dict[str, tuple[int, ...]] = {}
        self.l1 = 0.0
        self.l2 = 0.0
        self.input_grad = True  # the model turns this off for the first layer

    def plan(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def scratch_size(self) -> int:
        """Values per sample held beyond the output-sized arrays every layer is assumed to hold (conv's
        im2col rows, gelu's temporaries), for the memory estimate in nntrain/nn/memory.py."""
        return 0

    def initialize(self, rng: np.random.Generator) -> None:
        pass

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator, dtype) -> tuple[int, ...]:
        output_shape = self.plan(input_shape)
        self.params = {name: np.empty(shape, dtype=dtype) for name, shape in self.param_shapes.items()}
        self.grads = {name: np.zeros(shape, dtype=dtype) for name, shape in self.param_shapes.items()}
        self.buffers = {name: np.empty(shape, dtype=dtype) for name, shape in self.buffer_shapes.items()}
        self.initialize(rng)
        return output_shape

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        return grad_y


class WeightedLayer(Layer):
    """What dense and conv2d share: weights W (penalised) and bias b, a fused activation, an initialiser.

    Subclasses plan W's shape and its fans with `_plan_weights`; the bias starts at zero.
    """

    penalized = ("W",)

    def __init__(self, activation: str, alpha: float | None, init: str | None, l1: float, l2: float):
        super().__init__()
        self.activation_name = activation
        self.act = make_activation(activation, alpha)
        self.init = init or default_initializer(activation)
        self.l1, self.l2 = l1, l2

    def _plan_weights(self, shape: tuple[int, ...], fan_in: int, fan_out: int, outputs: int) -> None:
        """W of `shape`, b of its last axis; `outputs` values per sample come out of the activation."""
        self.param_shapes = {"W": shape, "b": (shape[-1],)}
        self._fans = (fan_in, fan_out)
        self._outputs = outputs

    def scratch_size(self):
        return self.act.scratch * self._outputs

    def initialize(self, rng):
        INITIALIZERS[self.init](self.params["W"], *self._fans, rng)
        self.params["b"].fill(0)
