"""The autograd functions against the official PyTorch formulation and gradcheck."""
import pytest

torch = pytest.importorskip("torch")
import ccl.torch as ct  # noqa: E402

import reference  # noqa: E402

LABELS = [0, 1, 0, 1, 2, 2, 3, 3, 0, 4]


def pair(dtype=torch.float64, rows=10, dim=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    f = torch.randn(rows, dim, generator=gen, dtype=dtype, requires_grad=True)
    g = torch.randn(rows, dim, generator=gen, dtype=dtype, requires_grad=True)
    return f, g


CASES = {
    "multiclass_nce": (lambda f, g: ct.multiclass_nce(f, g, torch.tensor(LABELS), 0.5),
                       lambda f, g: reference.multiclass_nce(f, g, torch.tensor(LABELS), 0.5)),
    "instance_nce": (lambda f, g: ct.instance_nce(f, g, 0.3),
                     lambda f, g: reference.instance_nce(f, g, 0.3)),
    "symmetric_multiclass": (
        lambda f, g: ct.symmetric(f, g, torch.tensor(LABELS), 0.5),
        lambda f, g: (reference.multiclass_nce(f, g, torch.tensor(LABELS), 0.5) +
                      reference.multiclass_nce(g, f, torch.tensor(LABELS), 0.5))),
    "symmetric_instance": (
        lambda f, g: ct.symmetric(f, g, None, 0.3),
        lambda f, g: reference.instance_nce(f, g, 0.3) + reference.instance_nce(g, f, 0.3)),
    # The composed teacher is a fixed function of g here, so both paths carry gradients.
    "distill": (
        lambda f, g: ct.distill(f, g, g * 2 + 1, torch.tensor(LABELS), 0.3, 0.5),
        lambda f, g: (0.3 * reference.multiclass_nce(f, g, torch.tensor(LABELS), 0.5) +
                      0.7 * reference.multiclass_nce(f, g * 2 + 1, torch.tensor(LABELS), 0.5))),
    "distill_two_way": (
        lambda f, g: ct.distill(f, g, g * 2 + 1, torch.tensor(LABELS), 0.3, 0.5, two_way=True),
        lambda f, g: (0.3 * (reference.multiclass_nce(f, g, torch.tensor(LABELS), 0.5) +
                             reference.multiclass_nce(g, f, torch.tensor(LABELS), 0.5)) +
                      0.7 * (reference.multiclass_nce(f, g * 2 + 1, torch.tensor(LABELS), 0.5) +
                             reference.multiclass_nce(g * 2 + 1, f, torch.tensor(LABELS), 0.5)))),
    "symmetric_kl_official": (
        lambda f, g: ct.symmetric_kl(f, g, 0.5, numerics="official"),
        lambda f, g: reference.symmetric_kl_official(f, g, 0.5)),
    "hinton_kd": (lambda f, g: ct.hinton_kd(f, g, 4.0),
                  lambda f, g: reference.hinton_kd(f, g, 4.0)),
}


def test_distill_lambda_outside_unit_interval_is_a_ccl_error():
    f, g = pair()
    with pytest.raises(ct.Error, match="lambda"):
        ct.distill(f, g, g, LABELS, 1.5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradients_match_the_official_formulation(name):
    ours, official = CASES[name]
    f, g = pair()
    value = ours(f, g)
    grads = torch.autograd.grad(value, (f, g))
    expected = official(f, g)
    expected_grads = torch.autograd.grad(expected, (f, g))
    assert abs(value.item() - expected.item()) < 1e-10
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    ours, _ = CASES[name]
    assert torch.autograd.gradcheck(ours, pair())


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("which", ["f", "g"])
def test_requires_grad_on_one_input_only(name, which):
    ours, official = CASES[name]
    f, g = pair()
    (f if which == "g" else g).requires_grad_(False)
    x = f if which == "f" else g
    (grad,) = torch.autograd.grad(ours(f, g), x)
    (want,) = torch.autograd.grad(official(f, g), x)
    assert torch.allclose(grad, want, rtol=0, atol=1e-10)


def test_float32_agrees_with_float64():
    f, g = pair()
    value64 = ct.multiclass_nce(f, g, LABELS, 0.5)
    value32 = ct.multiclass_nce(f.float(), g.float(), LABELS, 0.5)
    assert value32.dtype == torch.float32
    assert abs(value32.item() - value64.item()) < 1e-5


def test_official_numerics_close_to_stable():
    f, g = pair()
    stable = ct.multiclass_nce(f, g, LABELS, 0.5, numerics="stable")
    official = ct.multiclass_nce(f, g, LABELS, 0.5, numerics="official")
    assert abs(stable.item() - official.item()) < 1e-8


def test_non_contiguous_input_is_copied_and_correct():
    f, g = pair(dim=12)
    f_strided, g_strided = f[:, ::2], g[:, ::2]
    assert not f_strided.is_contiguous()
    value = ct.multiclass_nce(f_strided, g_strided, LABELS, 0.5)
    expected = reference.multiclass_nce(f_strided, g_strided, torch.tensor(LABELS), 0.5)
    assert abs(value.item() - expected.item()) < 1e-10


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64])
def test_wrong_dtype_is_a_type_error(dtype):
    f, g = pair()
    with pytest.raises(TypeError, match="float32 or float64"):
        ct.multiclass_nce(f.detach().to(dtype), g.detach().to(dtype), LABELS, 0.5)


def test_mixed_dtypes_are_a_type_error():
    f, g = pair()
    with pytest.raises(TypeError, match="same dtype"):
        ct.multiclass_nce(f, g.float(), LABELS, 0.5)


def test_empty_batch_is_a_ccl_error():
    f, g = pair(rows=0)
    with pytest.raises(ct.Error, match="empty batch"):
        ct.multiclass_nce(f, g, torch.zeros(0, dtype=torch.int64), 0.5)


def test_label_count_mismatch_is_a_ccl_error():
    f, g = pair()
    with pytest.raises(ct.Error, match="3 labels for a batch of 10"):
        ct.multiclass_nce(f, g, [0, 1, 2], 0.5)


def test_nan_input_is_a_ccl_error():
    f, g = pair()
    f = f.detach().clone()
    f[2, 3] = float("nan")
    with pytest.raises(ct.Error, match="(?i)nan|finite"):
        ct.multiclass_nce(f, g, LABELS, 0.5)


def test_bad_temperature_is_a_ccl_error():
    f, g = pair()
    with pytest.raises(ct.Error, match="temperature"):
        ct.multiclass_nce(f, g, LABELS, -1.0)


def test_one_class_is_finite_positive_term_only():
    # docs/losses.md: a row without negatives contributes its positive term only.
    f, g = pair()
    labels = torch.zeros(10, dtype=torch.int64)
    value = ct.multiclass_nce(f, g, labels, 0.5)
    logits = torch.nn.functional.normalize(f, dim=1) @ torch.nn.functional.normalize(g, dim=1).t()
    expected = -torch.log_softmax(logits / 0.5, dim=1).mean(1).mean()
    assert abs(value.item() - expected.item()) < 1e-10
    assert torch.autograd.gradcheck(lambda a, b: ct.multiclass_nce(a, b, labels, 0.5), (f, g))


def test_ccl_error_is_a_value_error():
    assert issubclass(ct.Error, ValueError)


def test_double_backward_is_refused_not_silently_wrong():
    f, g = pair()
    (grad,) = torch.autograd.grad(ct.multiclass_nce(f, g, LABELS, 0.5), f, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.sum().backward()
