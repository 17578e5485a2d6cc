"""The model: a sequence of layers whose parameters live in one flat buffer.

Keeping every parameter (and every gradient) in one contiguous array lets the
optimizer update the whole network in a few vectorised calls, and makes
checkpoints and summaries read the same named views.
"""

import math

import numpy as np

from nntrain.nn.layers import LAYERS, Layer

PREDICT_BATCH = 4096  # rows per forward pass in evaluation and prediction


class Model:
    def __init__(self, layers: list[Layer], names: list[str]):
        self.layers = layers
        self.names = names

    def plan(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Every layer's shapes, without allocating anything: fills `shapes` and returns the output shape."""
        self.input_shape = tuple(input_shape)
        self.shapes = []
        shape = self.input_shape
        for name, layer in zip(self.names, self.layers):
            try:
                shape = layer.plan(shape)
            except ValueError as exc:
                raise ValueError(f"layer {name}: {exc}") from None
            self.shapes.append(shape)
        self.output_shape = shape
        return shape

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator, dtype,
              noise_rng: np.random.Generator | None = None) -> tuple[int, ...]:
        """Plan every layer, allocate one flat buffer, then initialise each layer's views of it (drawn from `rng`).

        `noise_rng` feeds stochastic layers such as dropout while training.
        """
        self.dtype = np.dtype(dtype)
        self.noise_rng = noise_rng
        shape = self.plan(input_shape)
        for layer in self.layers:
            if layer.stochastic:
                layer.rng = noise_rng
        self.layers[0].input_grad = False
        self._allocate()
        for layer in self.layers:
            layer.initialize(rng)
        return shape

    def _allocate(self) -> None:
        entries = [(f"{name}.{key}", layer, key, shape) for name, layer in zip(self.names, self.layers)
                   for key, shape in layer.param_shapes.items()]
        total = sum(math.prod(shape) for *_, shape in entries)
        self.flat_params = np.empty(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        self.decay_mask = np.zeros(total, dtype=bool)
        self.params, self.grads = {}, {}
        start = 0
        for full_name, layer, key, shape in entries:
            stop = start + math.prod(shape)
            layer.params[key] = self.params[full_name] = self.flat_params[start:stop].reshape(shape)
            layer.grads[key] = self.grads[full_name] = self.flat_grads[start:stop].reshape(shape)
            self.decay_mask[start:stop] = key in layer.penalized
            start = stop
        for layer in self.layers:
            layer.buffers = {key: np.empty(shape, dtype=self.dtype) for key, shape in layer.buffer_shapes.items()}

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trained state, such as batchnorm running statistics."""
        return {f"{name}.{key}": value for name, layer in zip(self.names, self.layers) for key, value in layer.buffers.items()}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def penalty(self) -> float:
        """L1 and L2 penalty: Σ l1·|w| + l2·w² over penalised weights."""
        total = 0.0
        for layer in self.layers:
            for key in layer.penalized:
                w = layer.params[key]
                if layer.l1:
                    total += layer.l1 * float(np.abs(w).sum())
                if layer.l2:
                    total += layer.l2 * float(np.vdot(w, w))
        return total

    def add_penalty_grads(self) -> None:
        """Add d(penalty)/dw = l1·sign(w) + 2·l2·w to the gradients."""
        for layer in self.layers:
            for key in layer.penalized:
                w, g = layer.params[key], layer.grads[key]
                if layer.l1:
                    g += layer.l1 * np.sign(w)
                if layer.l2:
                    g += (2 * layer.l2) * w

    @property
    def has_penalty(self) -> bool:
        return any((layer.l1 or layer.l2) and layer.penalized for layer in self.layers)

    def predict(self, x: np.ndarray, batch_size: int = PREDICT_BATCH, rows: slice = slice(None)) -> np.ndarray:
        """Raw outputs in evaluation mode for `x[rows]` (a step-1 slice), computed in batches to bound memory:
        only a batch of `x` at a time is read (image rows are scaled to floats as read)."""
        start, stop, _ = rows.indices(len(x))
        outputs = [self.forward(x[i:min(i + batch_size, stop)], training=False) for i in range(start, stop, batch_size)]
        return np.concatenate(outputs) if outputs else np.empty((0, *self.output_shape), dtype=self.dtype)

    def parameter_count(self) -> int:
        return int(self.flat_params.size)


def make_model(layer_specs: list[dict]) -> Model:
    """The layers of plain layer specs ({"type": ..., options}), as stored in configs and checkpoints, unbuilt."""
    layers, names, counts = [], [], {}
    for spec in layer_specs:
        options = dict(spec)
        kind = options.pop("type")
        name = options.pop("name", None)
        counts[kind] = counts.get(kind, 0) + 1
        names.append(name or f"{kind}_{counts[kind]}")
        layers.append(LAYERS[kind](**options))
    return Model(layers, names)


def build_model(layer_specs: list[dict], input_shape: tuple[int, ...], dtype, rng: np.random.Generator,
                noise_rng: np.random.Generator | None = None) -> Model:
    """Build a model from plain layer specs: planned, allocated and initialised."""
    model = make_model(layer_specs)
    model.build(input_shape, rng, dtype, noise_rng)
    return model
