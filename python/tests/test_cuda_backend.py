"""The device losses of a CUDA build (_ccl.cuda) against the CPU ones, from NumPy alone: the
arrays go to the GPU with _ccl.cuda.to_device, so these tests need a GPU but not a CUDA-enabled
PyTorch. Without the CUDA build or a device they skip and say which is missing."""
import numpy as np
import pytest

import ccl
from ccl import _ccl

DEVICES = _ccl.cuda.device_count() if _ccl.has_cuda else 0
needs_device = pytest.mark.skipif(
    DEVICES == 0,
    reason=("needs the CUDA build (CCL_PYTHON_CUDA=ON) and a CUDA device; this run: CUDA build "
            f"{_ccl.has_cuda}, devices {DEVICES}"))

LABELS = np.array([0, 1, 0, 1, 2, 2, 3, 3, 0, 4])

# name: the call, given the host (_ccl) or the device (_ccl.cuda) module and the inputs f, g
CASES = {
    "multiclass_nce": lambda ops, f, g: ops.multiclass_nce(f, g, LABELS, 0.5),
    "multiclass_nce_official": lambda ops, f, g: ops.multiclass_nce(f, g, LABELS, 0.5,
                                                                    "official"),
    "instance_nce": lambda ops, f, g: ops.instance_nce(f, g, 0.3),
    "symmetric_multiclass_nce": lambda ops, f, g: ops.symmetric_multiclass_nce(f, g, LABELS, 0.5),
    "symmetric_instance_nce": lambda ops, f, g: ops.symmetric_instance_nce(f, g, 0.3),
    "symmetric_kl": lambda ops, f, g: ops.symmetric_kl(f, g, 0.5),
    "hinton_kd": lambda ops, f, g: ops.hinton_kd(f, g, 4.0),
    "cross_entropy": lambda ops, f, g: ops.cross_entropy(f, LABELS),
}


def pair(dtype):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((10, 6)).astype(dtype),
            rng.standard_normal((10, 6)).astype(dtype))


def test_cpu_build_has_no_cuda_submodule():
    if _ccl.has_cuda:
        pytest.skip("this is the CUDA build")
    assert not hasattr(_ccl, "cuda")


@needs_device
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_device_losses_match_the_cpu_backend(name, dtype, tolerance):
    f, g = pair(dtype)
    on_host = CASES[name](_ccl, f, g)
    on_device = CASES[name](_ccl.cuda, _ccl.cuda.to_device(f), _ccl.cuda.to_device(g))
    assert abs(on_host[0] - on_device[0]) < tolerance * max(1.0, abs(on_host[0]))
    for host_grad, device_grad in zip(on_host[1:], on_device[1:]):
        assert device_grad.__dlpack_device__()[0] == 2   # kDLCUDA: the gradient stays on the GPU
        back = np.asarray(_ccl.cuda.to_host(device_grad))
        assert np.allclose(back, np.asarray(host_grad), rtol=0, atol=tolerance)


@needs_device
def test_device_round_trip_is_exact():
    f, _ = pair(np.float64)
    assert np.array_equal(np.asarray(_ccl.cuda.to_host(_ccl.cuda.to_device(f))), f)


@needs_device
def test_device_errors_carry_ccls_message():
    f, g = pair(np.float64)
    f[2, 3] = np.nan
    with pytest.raises(ccl.Error, match="(?i)nan|finite"):
        _ccl.cuda.multiclass_nce(_ccl.cuda.to_device(f), _ccl.cuda.to_device(g), LABELS, 0.5)
    with pytest.raises(ccl.Error, match="outside"):
        _ccl.cuda.cross_entropy(_ccl.cuda.to_device(g), np.array([0] * 9 + [6]))
    with pytest.raises(ccl.Error, match="temperature"):
        _ccl.cuda.instance_nce(_ccl.cuda.to_device(g), _ccl.cuda.to_device(g), -1.0)


@needs_device
def test_host_arrays_are_refused_by_the_device_functions():
    f, g = pair(np.float64)
    with pytest.raises(TypeError):
        _ccl.cuda.instance_nce(f, g, 0.5)


@needs_device
@pytest.mark.parametrize("normalize", [True, False])
def test_device_residual_head_matches_the_cpu_head(normalize):
    rng = np.random.default_rng(2)
    teacher, student = 3 * rng.standard_normal((7, 5)), rng.standard_normal((7, 3))
    grad_composed, grad_logits = rng.standard_normal((7, 5)), rng.standard_normal((7, 4))
    weights = [np.asarray(p) for p in _ccl.ResidualHeadFloat64.initial_parameters(5, 3, 4, 7)]
    on_host = _ccl.ResidualHeadFloat64(*weights, normalize)
    on_device = _ccl.cuda.ResidualHeadFloat64(*map(_ccl.cuda.to_device, weights), normalize)

    def host(arrays):
        return [None if a is None else np.asarray(a) for a in arrays]

    def back(arrays):
        return [None if a is None else np.asarray(_ccl.cuda.to_host(a)) for a in arrays]

    outputs = host(on_host.forward(teacher, student))
    device_outputs = back(on_device.forward(_ccl.cuda.to_device(teacher),
                                            _ccl.cuda.to_device(student)))
    grads = host(on_host.backward(grad_composed, grad_logits, True, True))
    device_grads = back(on_device.backward(_ccl.cuda.to_device(grad_composed),
                                           _ccl.cuda.to_device(grad_logits), True, True))
    for want, got in zip(outputs + grads, device_outputs + device_grads):
        assert got.shape == want.shape
        assert np.allclose(got, want, rtol=0, atol=1e-10)
