"""Cross-entropy (ccl::loss::CrossEntropy) against torch.nn.functional.cross_entropy, gradcheck,
the NumPy-level API and ccl's errors."""
import numpy as np
import pytest

import ccl

torch = pytest.importorskip("torch")
import ccl.torch as ct  # noqa: E402

LABELS = [0, 3, 1, 1, 2, 0, 3]


def logits(dtype=torch.float64, rows=7, classes=4, scale=3.0):
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(rows, classes, generator=gen, dtype=dtype) * scale).requires_grad_()


def test_value_and_gradient_match_torch():
    z = logits()
    labels = torch.tensor(LABELS)
    value = ct.cross_entropy(z, labels)
    want = torch.nn.functional.cross_entropy(z, labels)
    assert abs(value.item() - want.item()) < 1e-10
    (grad,) = torch.autograd.grad(value, z)
    (want_grad,) = torch.autograd.grad(want, z)
    assert torch.allclose(grad, want_grad, rtol=0, atol=1e-10)


def test_large_logits_stay_finite_and_match_torch():
    z = logits(scale=1e4)
    labels = torch.tensor(LABELS)
    value = ct.cross_entropy(z, labels)
    assert torch.isfinite(value)
    assert abs(value.item() - torch.nn.functional.cross_entropy(z, labels).item()) < 1e-8


def test_gradcheck():
    labels = torch.tensor(LABELS)
    assert torch.autograd.gradcheck(lambda z: ct.cross_entropy(z, labels), (logits(),))


def test_scaled_incoming_gradient():
    z = logits()
    labels = torch.tensor(LABELS)
    (3 * ct.cross_entropy(z, labels)).backward()
    want = torch.autograd.grad(3 * torch.nn.functional.cross_entropy(z, labels), z)[0]
    assert torch.allclose(z.grad, want, rtol=0, atol=1e-10)


def test_float32():
    z = logits(torch.float32)
    value = ct.cross_entropy(z, LABELS)
    assert value.dtype == torch.float32
    want = torch.nn.functional.cross_entropy(z, torch.tensor(LABELS))
    assert abs(value.item() - want.item()) < 1e-5


def test_labels_of_other_integer_types_are_converted():
    z = logits()
    value = ct.cross_entropy(z, torch.tensor(LABELS, dtype=torch.int32))
    assert abs(value.item() - ct.cross_entropy(z, LABELS).item()) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_level_api(dtype):
    z = logits().detach().numpy().astype(dtype)
    value, grad = ccl.cross_entropy(z, np.array(LABELS))
    assert isinstance(grad, np.ndarray) and grad.dtype == dtype and grad.shape == z.shape
    # Each row of dL/dz = (softmax − onehot)/B sums to zero.
    assert np.allclose(grad.sum(axis=1), 0, atol=1e-6)
    want = torch.nn.functional.cross_entropy(torch.from_numpy(z).double(), torch.tensor(LABELS))
    assert abs(value - want.item()) < (1e-10 if dtype == np.float64 else 1e-5)


def test_label_out_of_range_is_a_ccl_error():
    with pytest.raises(ct.Error, match=r"label\[4\] = 4 is outside \[0, 4\)"):
        ct.cross_entropy(logits(rows=5), [0, 1, 2, 3, 4])
    with pytest.raises(ccl.Error, match=r"label\[0\] = -1 is outside"):
        ccl.cross_entropy(np.zeros((2, 3)), np.array([-1, 0]))


def test_empty_batch_is_a_ccl_error():
    with pytest.raises(ct.Error, match="empty"):
        ct.cross_entropy(logits(rows=0), torch.zeros(0, dtype=torch.int64))


def test_nan_logits_are_a_ccl_error():
    z = logits().detach().clone()
    z[2, 1] = float("nan")
    with pytest.raises(ct.Error, match="(?i)nan|finite"):
        ct.cross_entropy(z, LABELS)


def test_label_count_mismatch_is_a_ccl_error():
    with pytest.raises(ct.Error, match="labels"):
        ct.cross_entropy(logits(), [0, 1])


def test_wrong_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        ct.cross_entropy(logits().detach().half(), LABELS)
