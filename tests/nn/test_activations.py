"""Activation values: the erf behind exact GELU, and both GELU forms against PyTorch's."""

import math

import numpy as np
import pytest

from nntrain.nn.activations import ACTIVATIONS, erf

GRID = np.concatenate([np.linspace(-7, 7, 140001), np.geomspace(1e-300, 30, 2000), [0.46875, 4.0, 26.5, 1e10]])


def test_erf_matches_math_erf_to_1e_15_in_float64():
    grid = np.concatenate([GRID, -GRID])
    expected = np.array([math.erf(v) for v in grid])
    assert np.abs(erf(grid) - expected).max() <= 1e-15


def test_erf_edges_and_dtype():
    assert erf(np.array([np.inf, -np.inf, 0.0])).tolist() == [1.0, -1.0, 0.0]
    assert np.isnan(erf(np.array([np.nan]))).all()
    assert np.signbit(erf(np.array([-0.0])))[0]
    grid = GRID.astype(np.float32)
    values = erf(grid)
    assert values.dtype == np.float32
    assert np.abs(values - np.array([math.erf(v) for v in grid.astype(np.float64)])).max() < 3e-7


X = np.array([-5.0, -2.5, -1.0, -0.3, 0.0, 0.2, 0.7, 1.5, 3.0, 6.0])
# torch 2.13.0, float64: torch.nn.functional.gelu(X, approximate="none") and approximate="tanh".
TORCH_GELU = {
    "gelu": [-1.43325785934012e-06, -0.0155241633144404, -0.158655253931457, -0.114626573343314, 0.0,
             0.115851941887821, 0.530625443443849, 1.39978919809671, 2.99595030590511, 5.99999999408047],
    "gelu_tanh": [-2.29179619726239e-07, -0.0150842660899986, -0.158808009391723, -0.114629076457241, 0.0,
                  0.115851429782106, 0.530570134705117, 1.39957157698023, 2.99636260791823, 5.9999999999156],
}


@pytest.mark.parametrize("name", sorted(TORCH_GELU))
def test_gelu_forms_equal_pytorch(name):
    assert ACTIVATIONS[name]().forward(X.copy()) == pytest.approx(TORCH_GELU[name], rel=1e-13, abs=1e-20)


@pytest.mark.parametrize("name", sorted(TORCH_GELU))
def test_gelu_keeps_float32(name):
    y = ACTIVATIONS[name]().forward(X.astype(np.float32))
    assert y.dtype == np.float32 and y == pytest.approx(TORCH_GELU[name], rel=1e-5, abs=1e-7)
