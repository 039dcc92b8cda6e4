"""The NumPy-level API: value and gradients, no PyTorch needed."""
import subprocess
import sys

import numpy as np
import pytest

import ccl


def test_import_ccl_does_not_import_torch():
    code = "import sys, ccl; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_returns_value_and_gradients_of_the_input_dtype(dtype):
    rng = np.random.default_rng(0)
    f, g = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 4)).astype(dtype)
    value, grad_f, grad_g = ccl.multiclass_nce(f, g, np.array([0, 1, 0, 1, 2, 2]), 0.5)
    assert np.isfinite(value)
    assert grad_f.dtype == dtype and grad_f.shape == f.shape
    assert grad_g.dtype == dtype and grad_g.shape == g.shape


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    f, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    labels = np.array([0, 0, 1, 1, 2])
    _, grad_f, _ = ccl.multiclass_nce(f, g, labels, 0.5)
    step = 1e-6
    for index in np.ndindex(f.shape):
        up, down = f.copy(), f.copy()
        up[index] += step
        down[index] -= step
        numeric = (ccl.multiclass_nce(up, g, labels, 0.5)[0] -
                   ccl.multiclass_nce(down, g, labels, 0.5)[0]) / (2 * step)
        assert abs(numeric - grad_f[index]) < 1e-7


def test_non_contiguous_array_is_rejected_not_copied():
    f = np.zeros((4, 6))[:, ::2]
    with pytest.raises(TypeError):
        ccl.instance_nce(f, np.ones((4, 3)), 0.5)


def test_wrong_dtype_is_rejected_not_converted():
    with pytest.raises(TypeError):
        ccl.instance_nce(np.ones((4, 3), dtype=np.int32), np.ones((4, 3), dtype=np.int32), 0.5)


def test_ccl_error_carries_the_message():
    with pytest.raises(ccl.Error, match="empty batch"):
        ccl.instance_nce(np.zeros((0, 3)), np.zeros((0, 3)), 0.5)
