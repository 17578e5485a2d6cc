"""Planning a model without allocating it, and the memory estimates built on the plan (bytes written in)."""

import math
import tracemalloc

import numpy as np
import pytest

from nntrain.nn.memory import LayerPlan, plan_model, prediction_memory, training_memory
from nntrain.nn.model import build_model

DENSE = [{"type": "dense", "units": 8, "activation": "gelu"}, {"type": "batchnorm"},
         {"type": "dense", "units": 3, "name": "output"}]
CONV = [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 3}]


def test_dense_plan_and_exact_bytes():
    plan = plan_model(DENSE, (4,))
    assert plan.layers == [LayerPlan("dense_1", "dense", (8,), 40, 0, 24),  # gelu: 3 scratch values per output
                           LayerPlan("batchnorm_1", "batchnorm", (8,), 16, 16, 0),
                           LayerPlan("output", "dense", (3,), 27, 0, 0)]
    assert (plan.parameters, plan.buffers) == (83, 16)
    assert plan.activation_values() == 4 * (4 + 8 + 8 + 3) + 24  # SAFETY·(I + O) + X = 116
    # float64, sgd (1 state array), batches of 32, 100 validation rows:
    estimate = training_memory(plan, 32, np.float64, 1, evaluation_rows=100)
    assert estimate.parameters == 8 * 83 * (4 + 1) + 83 + 2 * 8 * 16 == 3659
    assert estimate.activations == 8 * (32 + 100) * 116 == 122496
    assert estimate.total == 126155
    resumed = training_memory(plan, 32, np.float64, 1, evaluation_rows=100, resuming=True)
    assert resumed.parameters - estimate.parameters == 8 * 2 * 83 + 8 * 16 == 1456
    predicting = prediction_memory(plan, np.float64, rows=5000)  # batches of 4096
    assert (predicting.parameters, predicting.activations) == (8 * (3 * 83 + 2 * 16) + 83, 8 * 4096 * 116)
    assert predicting.total == 2331 + 3801088


def test_conv_plan_counts_im2col_and_exact_bytes():
    plan = plan_model(CONV, (6, 6, 2))
    assert plan.layers[0] == LayerPlan("conv2d_1", "conv2d", (6, 6, 4), 3 * 3 * 2 * 4 + 4, 0, 6 * 6 * 3 * 3 * 2)
    assert [layer.output_shape for layer in plan.layers] == [(6, 6, 4), (3, 3, 4), (36,), (3,)]
    assert plan.parameters == 76 + 111
    assert plan.activation_values() == 4 * (72 + 144 + 36 + 36 + 3) + 648 == 1812
    estimate = training_memory(plan, 8, np.float32, 2, evaluation_rows=20)  # adam: m and v
    assert (estimate.parameters, estimate.activations) == (4 * 187 * 6 + 187, 4 * 28 * 1812) == (4675, 202944)
    assert training_memory(plan, 8, np.float32, 2).activations == 4 * (8 + 4096) * 1812  # evaluation in 4096s


@pytest.mark.parametrize("specs,input_shape", [(DENSE, (4,)), (CONV, (6, 6, 2)), (
    [{"type": "conv2d", "filters": 3, "kernel": [2, 3], "stride": 2, "padding": 1}, {"type": "batchnorm"},
     {"type": "avgpool2d", "size": 2, "stride": 1}, {"type": "dropout", "rate": 0.1},
     {"type": "activation", "activation": "elu"}, {"type": "global_avgpool"}, {"type": "dense", "units": 2}],
    (9, 8, 3))])
def test_plan_agrees_with_the_built_model(specs, input_shape):
    plan = plan_model(specs, input_shape)
    model = build_model(specs, input_shape, np.float32, np.random.default_rng(0))
    assert [layer.output_shape for layer in plan.layers] == model.shapes
    assert plan.parameters == model.parameter_count()
    assert plan.buffers == sum(value.size for value in model.buffers.values())
    assert [layer.name for layer in plan.layers] == model.names


def test_planning_a_huge_dense_layer_allocates_nothing():
    """1.7 billion parameters (6.8 GB of float32 weights alone) are planned with well under a megabyte."""
    specs = [{"type": "dense", "units": 170_000, "activation": "relu"}]
    tracemalloc.start()
    try:
        plan = plan_model(specs, (10_000,))
        estimate = training_memory(plan, 64, np.float32, 2, evaluation_rows=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.parameters == 10_000 * 170_000 + 170_000 == 1_700_170_000
    assert peak < 1_000_000
    assert estimate.parameters == 4 * 1_700_170_000 * 6 + 1_700_170_000  # 42.5 GB: refuse before allocating
    assert estimate.activations == 4 * (64 + 1000) * 4 * (10_000 + 170_000)


def test_planning_names_the_layer_that_cannot_fit():
    with pytest.raises(ValueError, match=r"layer conv2d_1: conv2d kernel 5x5 does not fit its 3x3 input"):
        plan_model([{"type": "conv2d", "filters": 2, "kernel": 5}], (3, 3, 1))
    assert math.prod(plan_model([{"type": "flatten"}], (2, 3, 4)).layers[0].output_shape) == 24
