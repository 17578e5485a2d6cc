"""embedding_bag: exact bags, PyTorch's EmbeddingBag as the reference, and memory that ignores the vocabulary.

Its finite-difference proof is with every layer's, in tests/nn/test_gradients.py."""

import tracemalloc

import numpy as np
import pytest

from nntrain.nn.embedding import EmbeddingBag
from nntrain.nn.memory import plan_model


def layer(mode="mean", tokens=((1, 3, 4),), inputs=4, dim=2, dtype=np.float64):
    bag = EmbeddingBag(dim, mode, [list(block) for block in tokens])
    bag.build((inputs,), np.random.default_rng(0), dtype)
    return bag


def test_mean_and_sum_bags_pass_other_features_first_and_give_zero_without_tokens():
    bag = layer()
    bag.params["E"][...] = [[0, 0], [1, 2], [3, 4], [10, 20]]  # id 0 is out of vocabulary
    x = np.array([[7.0, 1, 2, -1], [8.0, 2, 2, -1], [9.0, -1, -1, -1], [6.0, 3, 0, 0]])
    np.testing.assert_allclose(bag.forward(x, True), [[7, 2, 3], [8, 3, 4], [9, 0, 0], [6, 10 / 3, 20 / 3]])
    bag.mode = "sum"
    assert bag.forward(x, True).tolist() == [[7, 4, 6], [8, 6, 8], [9, 0, 0], [6, 10, 20]]


def test_two_text_blocks_share_one_table_with_offset_ids():
    bag = layer(tokens=((0, 2, 3), (2, 1, 2)), inputs=3, dim=1)
    assert bag.params["E"].shape == (5, 1)
    bag.params["E"][:, 0] = [1, 2, 3, 40, 50]
    assert bag.forward(np.array([[0.0, 2, 1]]), True).tolist() == [[2, 50]]


@pytest.mark.parametrize("mode", ["mean", "sum"])
def test_forward_and_gradients_match_torch_embedding_bag(mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    size, width, batch = 11, 6, 9
    ids = np.where(rng.random((batch, width)) < 0.3, -1, rng.integers(0, size, (batch, width)))
    ids[0] = -1
    bag = layer(mode, tokens=((0, width, size),), inputs=width, dim=4)
    upstream = rng.standard_normal((batch, 4))
    ours = bag.forward(ids.astype(np.float64), True)
    bag.backward(upstream)

    reference = torch.nn.EmbeddingBag(size, 4, mode=mode, padding_idx=None, include_last_offset=False)
    reference = reference.double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(bag.params["E"]))
    per_sample_weights = torch.from_numpy((ids >= 0).astype(np.float64))  # padding weighs 0 ...
    flat = torch.from_numpy(np.where(ids >= 0, ids, 0).reshape(-1))
    offsets = torch.arange(0, batch * width, width)
    if mode == "sum":
        out = reference(flat, offsets, per_sample_weights=per_sample_weights.reshape(-1))
    else:  # ... which torch allows only in sum mode: mean is a sum over each row's tokens, divided by their count
        summed = torch.nn.functional.embedding_bag(flat, reference.weight, offsets, mode="sum",
                                                   per_sample_weights=per_sample_weights.reshape(-1))
        out = summed / per_sample_weights.sum(1, keepdim=True).clamp(min=1)
    out.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bag.grads["E"], reference.weight.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_mean_mode_equals_torch_mean_over_unpadded_rows():
    torch = pytest.importorskip("torch")
    ids = [[3, 1, 1, -1], [0, 2, 4, 4]]
    bag = layer("mean", tokens=((0, 4, 5),), inputs=4, dim=3)
    reference = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(bag.params["E"].copy()), mode="mean")
    expected = torch.cat([reference(torch.tensor([row[:3]])) if -1 in row else reference(torch.tensor([row]))
                          for row in ids]).numpy()
    np.testing.assert_allclose(bag.forward(np.array(ids, dtype=np.float64), False), expected, rtol=1e-12)


def test_memory_of_a_batch_does_not_grow_with_the_vocabulary():
    """A batch of 512 rows over 500,000 tokens: nothing rows × vocabulary (1 GB in float32) is allocated;
    the peak of forward and backward stays within the batch × width × dim arrays the plan counts."""
    rows, width, dim, size = 512, 16, 8, 500_000
    bag = layer(tokens=((0, width, size),), inputs=width, dim=dim, dtype=np.float32)
    x = np.random.default_rng(0).integers(-1, size, (rows, width)).astype(np.float32)
    tracemalloc.start()
    y = bag.forward(x, True)
    bag.backward(np.ones_like(y))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * rows * width * dim * 4  # 5 MB; rows × vocabulary would be 1 GB
    assert peak < rows * size * 4 / 100


def test_planned_activations_do_not_depend_on_the_vocabulary_only_the_parameters_do():
    def planned(size):
        return plan_model([{"type": "embedding_bag", "dim": 8, "tokens": [[1, 20, size]]},
                           {"type": "dense", "units": 3}], (21,))
    small, large = planned(100), planned(1_000_000)
    assert small.activation_values() == large.activation_values()
    assert large.parameters - small.parameters == (1_000_000 - 100) * 8
    assert small.layers[0].output_shape == (9,)  # one passed-through feature and an 8-vector
