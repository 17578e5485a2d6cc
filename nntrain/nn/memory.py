"""Plan a model without allocating it, and estimate the memory training or prediction will need.

A plan gives each layer's output shape and parameter count from the layer specs and an input
shape alone, so `check`, `fit` and `summary` can refuse a model that does not fit in memory
before a single array of it exists (a 1.7-billion-parameter dense layer plans in microseconds).

The estimate, in bytes, with b the dtype's size, P parameters, B buffer values (batchnorm
running statistics), S the optimizer's state arrays (len(Optimizer.state_names): 2 for adam),
and per sample I input values, O = Σ layer output values, X = Σ layer scratch values
(conv's im2col rows Ho·Wo·kh·kw·C_in, gelu's temporaries, embedding_bag's gathered rows width·(dim + 2),
never the vocabulary; see Layer.scratch_size):

  training   = b·P·(4 + S) + P + 2·b·B                       parameters, gradients, the best-epoch
                                                             copy, the optimizer's scratch buffer, its
                                                             S state arrays; the 1-byte decay mask;
                                                             buffers and their best-epoch copy
             + b·(1 + S)·P + b·B  when resuming               the checkpoint's arrays while restoring
             + b·(N + E)·(4·(I + O) + X)                     activations of a training batch of N rows,
                                                             still cached while evaluation runs in
                                                             batches of E rows (min(4096, rows))
  prediction = b·(3·P + 2·B) + P                              the checkpoint's arrays while the model
                                                             (parameters, gradients, buffers, decay
                                                             mask) is built
             + b·E·(4·(I + O) + X)                           activations of one batch of E rows

The safety factor 4 on I + O stands for the arrays of each layer's size alive at once: its
output, one cache (a mask, x̂, y), the gradient flowing back and one temporary. Measured with
tracemalloc on dense, batchnorm, dropout and conv stacks with every activation, the activation
term is 1.2–5.4× the real peak of a training step (1.2–9× of a prediction batch), never below it. Not counted: the data itself, the
concatenated predictions, and up to 32 MiB of buffering while a checkpoint is written.
"""

import math
from dataclasses import dataclass

import numpy as np

from nntrain.nn.model import PREDICT_BATCH, make_model

SAFETY = 4


@dataclass(frozen=True)
class LayerPlan:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int
    buffers: int
    scratch: int  # values per sample beyond the output-sized arrays (Layer.scratch_size)


@dataclass(frozen=True)
class ModelPlan:
    input_shape: tuple[int, ...]
    layers: list[LayerPlan]

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def buffers(self) -> int:
        return sum(layer.buffers for layer in self.layers)

    def activation_values(self) -> int:
        """Values per sample that one forward and backward pass hold at their peak: SAFETY·(I + O) + X."""
        outputs = sum(math.prod(layer.output_shape) for layer in self.layers)
        scratch = sum(layer.scratch for layer in self.layers)
        return SAFETY * (math.prod(self.input_shape) + outputs) + scratch


@dataclass(frozen=True)
class MemoryEstimate:
    parameters: int   # bytes that do not depend on the batch size
    activations: int  # bytes per batch

    @property
    def total(self) -> int:
        return self.parameters + self.activations


def plan_model(layer_specs: list[dict], input_shape: tuple[int, ...]) -> ModelPlan:
    """Shapes and sizes of every layer, without allocating parameters; ValueError names a layer that cannot fit."""
    model = make_model(layer_specs)
    model.plan(input_shape)
    layers = [LayerPlan(name, spec["type"], shape, _values(layer.param_shapes), _values(layer.buffer_shapes),
                        layer.scratch_size())
              for name, spec, layer, shape in zip(model.names, layer_specs, model.layers, model.shapes)]
    return ModelPlan(tuple(input_shape), layers)


def _values(shapes: dict[str, tuple[int, ...]]) -> int:
    return sum(math.prod(shape) for shape in shapes.values())


def training_memory(plan: ModelPlan, batch_size: int, dtype, state_arrays: int,
                    evaluation_rows: int = PREDICT_BATCH, resuming: bool = False) -> MemoryEstimate:
    """Bytes `fit` needs for this model (formula in the module docstring); `evaluation_rows` is the larger of
    the validation and test row counts."""
    b, p, buffers = np.dtype(dtype).itemsize, plan.parameters, plan.buffers
    fixed = b * p * (4 + state_arrays) + p + 2 * b * buffers
    if resuming:
        fixed += b * (1 + state_arrays) * p + b * buffers
    rows = batch_size + min(PREDICT_BATCH, evaluation_rows)
    return MemoryEstimate(fixed, b * rows * plan.activation_values())


def prediction_memory(plan: ModelPlan, dtype, rows: int = PREDICT_BATCH) -> MemoryEstimate:
    """Bytes `predict` and `eval` need for this model, predicting batches of min(4096, rows) rows."""
    b, p = np.dtype(dtype).itemsize, plan.parameters
    return MemoryEstimate(b * (3 * p + 2 * plan.buffers) + p, b * min(PREDICT_BATCH, rows) * plan.activation_values())
