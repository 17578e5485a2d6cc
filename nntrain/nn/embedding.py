"""The `embedding_bag` layer: the mean (or sum) of token embeddings over padded rows of token ids.

The input's token blocks (as the `text` step lays them out: `width` columns of ids, −1 after a
row's last token) are each replaced by one `dim`-vector; the other input columns pass through
first, then one bag per block. With E the embedding table, ids t₁..tₙ the row's tokens of a block:

  sum:  y = Σᵢ E[tᵢ]          mean:  y = (1/max(n, 1))·Σᵢ E[tᵢ]   (a row without tokens gives 0)
  backward: dE[tᵢ] += dy (sum) or dy/max(n, 1) (mean), for every token of every row (sorted by id and
            summed with np.add.reduceat, faster than np.add.at's scattered adds)

Mean mode is the first dense layer over l1-normalised bag-of-words counts (y = (c/n)·E), computed
by gathering n rows of E per sample instead of multiplying a rows × vocabulary matrix: memory is
batch × width × dim, never batch × vocabulary. Blocks share one table E; each block's ids are offset
by the sizes of the blocks before it.
"""

import numpy as np

from nntrain.nn.layer import Layer


class EmbeddingBag(Layer):
    """Bag of token embeddings per text block; `tokens` lists [start, width, size] per block (filled by
    nntrain.run.build from the fitted text steps)."""

    penalized = ("E",)

    def __init__(self, dim: int, mode: str = "mean", tokens: list[list[int]] = (), l1: float = 0.0, l2: float = 0.0):
        super().__init__()
        self.dim = dim
        self.mode = mode
        self.tokens = [tuple(block) for block in tokens]
        self.l1, self.l2 = l1, l2

    def plan(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"embedding_bag needs flat input, got shape {tuple(input_shape)}")
        if not self.tokens:
            raise ValueError("embedding_bag needs token ids: add a text step to data.pipeline")
        inputs = input_shape[0]
        token_columns = np.zeros(inputs, dtype=bool)
        for start, width, _ in self.tokens:
            if start + width > inputs:
                raise ValueError(f"embedding_bag reads columns {start}..{start + width - 1} of {inputs} inputs; "
                                 "it must be the first layer")
            token_columns[start:start + width] = True
        self._passed = np.flatnonzero(~token_columns)
        self._offsets = np.cumsum([0] + [size for *_, size in self.tokens])[:-1]
        self.param_shapes = {"E": (int(sum(size for *_, size in self.tokens)), self.dim)}
        return (len(self._passed) + self.dim * len(self.tokens),)

    def scratch_size(self):
        return sum(width for _, width, _ in self.tokens) * (self.dim + 2)  # the gathered rows, ids and mask

    def initialize(self, rng):
        self.params["E"][...] = rng.standard_normal(self.params["E"].shape) / np.sqrt(self.dim)

    def forward(self, x, training):
        E = self.params["E"]
        self._shape, self._blocks = x.shape, []
        outputs = [x[:, self._passed]]
        for (start, width, _), offset in zip(self.tokens, self._offsets):
            ids = np.rint(x[:, start:start + width]).astype(np.intp)  # ids are exact in float32; rint for safety
            present = ids >= 0
            rows, positions = np.nonzero(present)  # row-major: each row's tokens are contiguous
            flat = ids[rows, positions] + offset
            counts = present.sum(axis=1)
            scale = self._scale(counts, x.dtype)
            bag = np.zeros((len(x), self.dim), dtype=x.dtype)
            filled = counts > 0
            if filled.any():  # reduceat needs non-empty segments: rows without tokens stay 0
                bag[filled] = np.add.reduceat(E[flat], (np.cumsum(counts) - counts)[filled], axis=0)
            bag *= scale[:, None]
            self._blocks.append((rows, flat, scale))
            outputs.append(bag)
        return np.concatenate(outputs, axis=1)

    def _scale(self, counts: np.ndarray, dtype) -> np.ndarray:
        return (1 / np.maximum(counts, 1) if self.mode == "mean" else np.ones(len(counts))).astype(dtype)

    def backward(self, grad_y):
        grad_E = self.grads["E"]
        grad_E.fill(0)
        passed = len(self._passed)
        for index, (rows, flat, scale) in enumerate(self._blocks):
            grad_bag = grad_y[:, passed + index * self.dim:passed + (index + 1) * self.dim] * scale[:, None]
            if not len(flat):
                continue
            order = np.argsort(flat, kind="stable")  # each id's contributions contiguous: reduceat, not add.at
            ids = flat[order]
            starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            # blocks' ids are disjoint (offset), so assigning is adding
            grad_E[ids[starts]] = np.add.reduceat(grad_bag[rows[order]], starts, axis=0)
        if not self.input_grad:
            return None
        grad_x = np.zeros(self._shape, dtype=grad_y.dtype)  # token ids have no gradient
        grad_x[:, self._passed] = grad_y[:, :passed]
        return grad_x
