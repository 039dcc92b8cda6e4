"""CUDA tensors (a build with CCL_PYTHON_CUDA=ON): ccl's CUDA backend against its CPU backend,
zero-copy input, gradcheck. They need a GPU and a PyTorch with CUDA; elsewhere they skip and say
which of the two is missing."""
import pytest

from ccl import _ccl

torch = pytest.importorskip("torch")
import ccl.torch as ct  # noqa: E402

LABELS = [0, 1, 0, 1, 2, 2, 3, 3, 0, 4]

HAS_DEVICE = torch.cuda.is_available()
needs_cuda_build_and_device = pytest.mark.skipif(
    not (_ccl.has_cuda and HAS_DEVICE),
    reason=("needs the CUDA build (CCL_PYTHON_CUDA=ON) and a CUDA device visible to PyTorch; "
            f"this run: CUDA build {_ccl.has_cuda}, torch.cuda.is_available() {HAS_DEVICE}"))

CASES = {
    "multiclass_nce": lambda f, g: ct.multiclass_nce(f, g, LABELS, 0.5),
    "instance_nce": lambda f, g: ct.instance_nce(f, g, 0.3),
    "symmetric_multiclass": lambda f, g: ct.symmetric(f, g, LABELS, 0.5),
    "symmetric_instance": lambda f, g: ct.symmetric(f, g, None, 0.3),
    "symmetric_kl_official": lambda f, g: ct.symmetric_kl(f, g, 0.5, numerics="official"),
    "hinton_kd": lambda f, g: ct.hinton_kd(f, g, 4.0),
    "cross_entropy": lambda f, g: ct.cross_entropy(f, LABELS) + ct.cross_entropy(g, LABELS),
}


def pair(device, dtype=torch.float64):
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(10, 6, generator=gen, dtype=dtype)
    g = torch.randn(10, 6, generator=gen, dtype=dtype)
    return f.to(device).requires_grad_(), g.to(device).requires_grad_()


def test_cuda_tensor_without_the_cuda_build_is_a_type_error():
    if _ccl.has_cuda or not HAS_DEVICE:
        pytest.skip("needs a CPU-only build and a CUDA device visible to PyTorch")
    f = torch.randn(4, 3, device="cuda")
    with pytest.raises(TypeError, match="CCL_PYTHON_CUDA"):
        ct.instance_nce(f, f, 0.5)


@needs_cuda_build_and_device
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_matches_the_cpu_backend_in_float64(name):
    loss = CASES[name]
    f, g = pair("cpu")
    fc, gc = pair("cuda")
    value, value_cuda = loss(f, g), loss(fc, gc)
    assert value_cuda.device.type == "cuda"
    assert abs(value.item() - value_cuda.item()) < 1e-10
    grads = torch.autograd.grad(value, (f, g))
    grads_cuda = torch.autograd.grad(value_cuda, (fc, gc))
    for cpu, cuda in zip(grads, grads_cuda):
        assert cuda.device.type == "cuda"
        assert torch.allclose(cpu, cuda.cpu(), rtol=0, atol=1e-10)


@needs_cuda_build_and_device
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_on_the_device(name):
    assert torch.autograd.gradcheck(CASES[name], pair("cuda"))


@needs_cuda_build_and_device
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_tensors_are_read_in_place_and_gradients_stay_on_the_device(dtype, monkeypatch):
    seen = []
    original = _ccl.cuda.multiclass_nce

    def spy(f, g, *args, **kwargs):
        seen.extend([_ccl._data_address(f), _ccl._data_address(g)])
        return original(f, g, *args, **kwargs)

    monkeypatch.setattr(_ccl.cuda, "multiclass_nce", spy)
    f, g = pair("cuda", dtype)
    loss = ct.multiclass_nce(f, g, torch.tensor(LABELS, device="cuda"), 0.5)
    assert seen == [f.data_ptr(), g.data_ptr()]
    assert all(t.device == f.device for t in loss.grad_fn.saved_tensors)


@needs_cuda_build_and_device
def test_cuda_errors_carry_ccls_message():
    f, g = pair("cuda")
    bad = f.detach().clone()
    bad[2, 3] = float("nan")
    with pytest.raises(ct.Error, match="(?i)nan|finite"):
        ct.multiclass_nce(bad, g, LABELS, 0.5)
    with pytest.raises(ct.Error, match="outside"):
        ct.cross_entropy(f, [0] * 9 + [6])


@needs_cuda_build_and_device
def test_mixed_devices_are_a_type_error():
    f, _ = pair("cuda")
    _, g = pair("cpu")
    with pytest.raises(TypeError, match="same device"):
        ct.multiclass_nce(f, g, LABELS, 0.5)


@needs_cuda_build_and_device
def test_residual_module_on_the_gpu_matches_the_cpu_one():
    module = ct.Residual(6, 6, 5, seed=3, dtype=torch.float64)
    on_gpu = ct.Residual(6, 6, 5, seed=3, dtype=torch.float64).cuda()
    f, g = pair("cpu")
    fc, gc = pair("cuda")
    outputs, gpu_outputs = module(f, g), on_gpu(fc, gc)

    def loss(c, z):
        return c.pow(2).sum() + torch.log_softmax(z, dim=1)[:, 0].sum()

    grads = torch.autograd.grad(loss(*outputs), (f, g, *module.parameters()))
    gpu_grads = torch.autograd.grad(loss(*gpu_outputs), (fc, gc, *on_gpu.parameters()))
    for want, got in zip([*outputs, *grads], [*gpu_outputs, *gpu_grads]):
        assert got.device.type == "cuda"
        assert torch.allclose(got.cpu(), want, rtol=0, atol=1e-10)


@needs_cuda_build_and_device
def test_residual_gradcheck_on_the_gpu():
    module = ct.Residual(6, 6, 5, seed=3, dtype=torch.float64).cuda()
    assert torch.autograd.gradcheck(lambda t, s: module(t, s), pair("cuda"))


@needs_cuda_build_and_device
def test_residual_inputs_on_another_device_than_the_head_are_a_type_error():
    module = ct.Residual(6, 6, 5, dtype=torch.float64)
    f, g = pair("cuda")
    with pytest.raises(TypeError, match="Residual head on cpu"):
        module(f, g)
