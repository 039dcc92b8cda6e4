"""ccl.torch.Residual: compose::Residual as a torch.nn.Module, against the official PyTorch
formulation (reference.residual), gradcheck, and a training loop."""
import pytest

torch = pytest.importorskip("torch")
import ccl.torch as ct  # noqa: E402

import reference  # noqa: E402

TEACHER_DIM, STUDENT_DIM, CLASSES, BATCH = 5, 3, 4, 7


def inputs(dtype=torch.float64, seed=0, teacher_grad=True):
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(BATCH, TEACHER_DIM, generator=gen, dtype=dtype) * 3
    student = torch.randn(BATCH, STUDENT_DIM, generator=gen, dtype=dtype)
    return teacher.requires_grad_(teacher_grad), student.requires_grad_()


def head(normalize=True, dtype=torch.float64):
    return ct.Residual(TEACHER_DIM, STUDENT_DIM, CLASSES, normalize=normalize, seed=7, dtype=dtype)


def parameters(module):
    return (module.residual.weight, module.residual.bias, module.classifier.weight,
            module.classifier.bias)


def test_parameters_have_torch_linear_shapes_and_names():
    module = head()
    assert [(name, tuple(p.shape)) for name, p in module.named_parameters()] == [
        ("residual.weight", (TEACHER_DIM, TEACHER_DIM + STUDENT_DIM)),
        ("residual.bias", (TEACHER_DIM,)),
        ("classifier.weight", (CLASSES, TEACHER_DIM)),
        ("classifier.bias", (CLASSES,)),
    ]
    assert (module.teacher_dim, module.student_dim, module.classes) == (5, 3, 4)


def test_initialisation_is_ccls_uniform_fan_in_bound_and_follows_the_seed():
    module = head()
    for p, fan_in in zip(parameters(module), [8, 8, 5, 5]):
        bound = fan_in ** -0.5
        assert p.abs().max() < bound and p.abs().max() > 0.5 * bound
    same, other = head(), ct.Residual(TEACHER_DIM, STUDENT_DIM, CLASSES, seed=8,
                                      dtype=torch.float64)
    assert all(torch.equal(a, b) for a, b in zip(parameters(module), parameters(same)))
    assert not torch.equal(module.residual.weight, other.residual.weight)
    torch.manual_seed(3)
    first = ct.Residual(TEACHER_DIM, STUDENT_DIM, CLASSES)
    torch.manual_seed(3)
    second = ct.Residual(TEACHER_DIM, STUDENT_DIM, CLASSES)
    assert first.residual.weight.dtype == torch.float32
    assert torch.equal(first.residual.weight, second.residual.weight)


def test_float32_parameters_equal_float64_ones_rounded():
    # ccl draws in double and rounds, for either scalar type, so one seed means one head.
    p32, p64 = parameters(head(dtype=torch.float32)), parameters(head())
    assert all(torch.equal(a, b.float()) for a, b in zip(p32, p64))


@pytest.mark.parametrize("normalize", [True, False])
def test_values_and_gradients_match_the_official_formulation(normalize):
    module = head(normalize)
    teacher, student = inputs()
    composed, logits = module(teacher, student)
    want_composed, want_logits = reference.residual(teacher, student, *parameters(module),
                                                    normalize=normalize)
    assert torch.allclose(composed, want_composed, rtol=0, atol=1e-10)
    assert torch.allclose(logits, want_logits, rtol=0, atol=1e-10)
    # A loss that uses both outputs, so both incoming gradients are non-trivial.
    weights = torch.randn(BATCH, TEACHER_DIM, dtype=torch.float64)
    targets = (teacher, student, *parameters(module))

    def loss(c, z):
        return (c * weights).sum() + torch.log_softmax(z, dim=1)[:, 0].sum()

    grads = torch.autograd.grad(loss(composed, logits), targets)
    want = torch.autograd.grad(loss(want_composed, want_logits), targets)
    for got, expected in zip(grads, want):
        assert torch.allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("normalize", [True, False])
def test_gradcheck_inputs_and_parameters(normalize):
    module = head(normalize)
    teacher, student = inputs()
    w1, b1, w2, b2 = (p.detach().clone().requires_grad_() for p in parameters(module))

    def function(t, s, *params):
        return ct.residual(t, s, *params, normalize=normalize)

    assert torch.autograd.gradcheck(function, (teacher, student, w1, b1, w2, b2))


def test_gradcheck_through_the_module():
    module = head()
    teacher, student = inputs()
    assert torch.autograd.gradcheck(lambda t, s: module(t, s), (teacher, student))


def test_frozen_teacher_gets_no_gradient_and_student_still_does():
    module = head()
    teacher, student = inputs(teacher_grad=False)
    composed, logits = module(teacher, student)
    (composed.sum() + logits.sum()).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_a_second_backward_through_the_same_graph_gives_the_same_gradients():
    module = head()
    teacher, student = inputs()
    _, logits = module(teacher, student)
    first = torch.autograd.grad(logits.sum(), parameters(module), retain_graph=True)
    second = torch.autograd.grad(logits.sum(), parameters(module))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_loss_decreases_with_sgd_on_the_modules_parameters():
    torch.manual_seed(0)
    module = ct.Residual(8, 6, 3, seed=1)
    teacher, student = torch.randn(24, 8), torch.randn(24, 6)
    labels = torch.arange(24) % 3
    optimiser = torch.optim.SGD(module.parameters(), lr=0.5)
    before = [p.detach().clone() for p in module.parameters()]
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        _, logits = module(teacher, student)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1
    assert all(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_module_double_switches_to_the_float64_head():
    module = ct.Residual(TEACHER_DIM, STUDENT_DIM, CLASSES, seed=7).double()
    teacher, student = inputs()
    composed, _ = module(teacher, student)
    assert composed.dtype == torch.float64


def test_inputs_of_another_dtype_than_the_parameters_are_a_type_error():
    module = head(dtype=torch.float32)
    teacher, student = inputs()
    with pytest.raises(TypeError, match="float32"):
        module(teacher, student)


def test_wrong_widths_and_nan_inputs_are_ccl_errors():
    module = head()
    teacher, student = inputs()
    with pytest.raises(ct.Error, match="student_dim = 3"):
        module(teacher, torch.randn(BATCH, 4, dtype=torch.float64))
    bad = student.detach().clone()
    bad[1, 1] = float("nan")
    with pytest.raises(ct.Error, match="(?i)nan|finite"):
        module(teacher, bad)
    with pytest.raises(ct.Error, match="empty batch|non-empty|empty"):
        module(teacher[:0], student[:0])
    with pytest.raises(ct.Error, match="positive"):
        ct.Residual(0, 3, 4)


def test_functional_form_checks_the_weight_shapes_with_ccls_messages():
    teacher, student = inputs()
    w1, b1, w2, b2 = parameters(head())
    with pytest.raises(ct.Error, match=r"residual.weight has shape \[5, 5\]"):
        ct.residual(teacher, student, w1[:, :5], b1, w2, b2)
    with pytest.raises(ct.Error, match="set_weight"):
        ct.residual(teacher, student, w1, b1, w2[:, :4], b2)
    with pytest.raises(ct.Error, match="set_bias"):
        ct.residual(teacher, student, w1, b1[:4], w2, b2)


def test_double_backward_is_refused_not_silently_wrong():
    module = head()
    teacher, student = inputs()
    _, logits = module(teacher, student)
    (grad,) = torch.autograd.grad(logits.sum(), student, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.sum().backward()


def test_no_memory_growth_over_1000_forward_backward_calls():
    module = ct.Residual(32, 32, 8, seed=0)
    teacher, student = torch.randn(64, 32), torch.randn(64, 32, requires_grad=True)

    def step():
        composed, logits = module(teacher, student)
        (composed.sum() + logits.sum()).backward()

    for _ in range(50):
        step()
    before = resident_bytes()
    for _ in range(1000):
        step()
    # Leaking one step's arrays (outputs, gradients, the head with its weights, ~60 KB) would
    # grow the process by about 60 MB.
    if before is not None:
        assert resident_bytes() - before < 8_000_000


def resident_bytes():
    """The process's resident size (Linux), or None where /proc is absent."""
    import os
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None
