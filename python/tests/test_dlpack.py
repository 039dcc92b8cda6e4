"""Arrays cross into ccl through DLPack without copies (docs/python.md, "Dtypes, devices,
copies"): the extension reads the caller's memory, and the gradients it allocates become NumPy
arrays and torch tensors over that same memory."""
import numpy as np
import pytest

import ccl
from ccl import _ccl

torch = pytest.importorskip("torch")
import ccl.torch as ct  # noqa: E402

LABELS = [0, 1, 0, 1, 2, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_input_is_read_in_place(dtype):
    f = np.random.default_rng(0).standard_normal((6, 4)).astype(dtype)
    assert _ccl._data_address(f) == f.ctypes.data
    f.setflags(write=False)   # read-only arrays too: ccl never writes its inputs
    assert _ccl._data_address(f) == f.ctypes.data


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_input_is_read_in_place(dtype):
    f = torch.randn(6, 4, dtype=dtype)
    assert _ccl._data_address(f) == f.data_ptr()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_become_numpy_and_torch_arrays_without_a_copy(dtype):
    rng = np.random.default_rng(1)
    f, g = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 4)).astype(dtype)
    _, grad_f, _ = _ccl.instance_nce(f, g, 0.5)
    address = _ccl._data_address(grad_f)
    assert np.asarray(grad_f).ctypes.data == address
    assert torch.utils.dlpack.from_dlpack(grad_f).data_ptr() == address
    # The arrays are owned by the extension's capsule and outlive the call and each other.
    as_numpy = np.asarray(grad_f)
    del grad_f
    assert np.isfinite(as_numpy).all()


class Spy:
    """Wraps an extension function and records the addresses it saw and returned."""

    def __init__(self, function):
        self.function, self.seen, self.returned = function, [], []

    def __call__(self, *args, **kwargs):
        self.seen = [_ccl._data_address(a) for a in args[:2]]
        result = self.function(*args, **kwargs)
        self.returned = [_ccl._data_address(a) for a in result[1:]]
        return result


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ccl_torch_passes_contiguous_tensors_and_saves_gradients_without_copies(
        dtype, monkeypatch):
    spy = Spy(_ccl.multiclass_nce)
    monkeypatch.setattr(_ccl, "multiclass_nce", spy)
    f = torch.randn(6, 4, dtype=dtype, requires_grad=True)
    g = torch.randn(6, 4, dtype=dtype, requires_grad=True)
    loss = ct.multiclass_nce(f, g, LABELS, 0.5)
    assert spy.seen == [f.data_ptr(), g.data_ptr()]
    # What backward scales are tensors over the extension's gradient arrays.
    assert [t.data_ptr() for t in loss.grad_fn.saved_tensors] == spy.returned


def test_ccl_torch_labels_already_int64_are_not_copied(monkeypatch):
    original, seen = _ccl.multiclass_nce, []

    def spy(f, g, labels, *rest):
        seen.append(_ccl._data_address(labels))
        return original(f, g, labels, *rest)

    monkeypatch.setattr(_ccl, "multiclass_nce", spy)
    labels = torch.tensor(LABELS)
    ct.multiclass_nce(torch.randn(6, 4), torch.randn(6, 4), labels, 0.5)
    assert seen == [labels.data_ptr()]


def test_ccl_torch_copies_a_non_contiguous_tensor_once(monkeypatch):
    spy = Spy(_ccl.instance_nce)
    monkeypatch.setattr(_ccl, "instance_nce", spy)
    base = torch.randn(6, 8, dtype=torch.float64)
    f = base[:, ::2]
    g = torch.randn(6, 4, dtype=torch.float64)
    ct.instance_nce(f, g, 0.5)
    assert spy.seen[0] != f.data_ptr()        # the documented copy by .contiguous()
    assert spy.seen[1] == g.data_ptr()        # the contiguous one is still read in place


def test_numpy_level_api_rejects_non_contiguous_torch_and_numpy_input():
    with pytest.raises(TypeError):
        ccl.instance_nce(torch.randn(6, 8)[:, ::2], torch.randn(6, 4), 0.5)
    with pytest.raises(TypeError):
        ccl.instance_nce(np.zeros((6, 8))[:, ::2], np.zeros((6, 4)), 0.5)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64])
def test_numpy_level_api_rejects_other_dtypes_instead_of_converting(dtype):
    f = np.ones((4, 3), dtype=dtype)
    with pytest.raises(TypeError):
        ccl.instance_nce(f, f, 0.5)


def test_numpy_level_api_takes_torch_tensors_through_dlpack():
    f, g = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    value, grad_f, _ = ccl.multiclass_nce(f, g, torch.tensor(LABELS), 0.5)
    want, grad_want, _ = ccl.multiclass_nce(f.numpy(), g.numpy(), np.array(LABELS), 0.5)
    assert value == want
    assert isinstance(grad_f, np.ndarray) and np.array_equal(grad_f, grad_want)

