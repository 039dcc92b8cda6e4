"""``ccl.torch.Residual``: compose::Residual as a ``torch.nn.Module``.

PyTorch owns and optimises the four parameters; every forward hands their current values to a
ccl head (include/ccl/compose/residual.hpp), whose forward and backward compute

    r    = W_1 [x̂_t ; x̂_v] + b_1      x̂ = x / max(‖x‖, 1e-12)  (normalize=True)
    x_tv = x_t + r
    z_tv = W_2 x_tv + b_2
"""
import torch
from torch.autograd.function import once_differentiable

from . import _ccl
from . import _torch_arrays as arrays

_HEADS = {torch.float32: _ccl.ResidualHeadFloat32, torch.float64: _ccl.ResidualHeadFloat64}


def _make_head(w1, b1, w2, b2, normalize):
    """A ccl head over the current parameter values, on their device (CUDA in a CUDA build)."""
    dtype, device = w1.dtype, w1.device
    if dtype not in _HEADS:
        raise TypeError(f"ccl: Residual's parameters must be float32 or float64, not {dtype}")
    for name, p in (("residual.weight", w1), ("residual.bias", b1), ("classifier.weight", w2),
                    ("classifier.bias", b2)):
        if p.dtype != dtype:
            raise TypeError(f"ccl: {name} is {p.dtype} but residual.weight is {dtype}")
        arrays.check_device(name, p)
        if p.device != device:
            raise TypeError(f"ccl: {name} is on {p.device} but residual.weight on {device}")
    weights = [p.detach().contiguous() for p in (w1, b1, w2, b2)]
    if device.type == "cpu":
        return _HEADS[dtype](*weights, normalize)
    head_type = {torch.float32: _ccl.cuda.ResidualHeadFloat32,
                 torch.float64: _ccl.cuda.ResidualHeadFloat64}[dtype]
    return head_type(*weights, normalize, stream=torch.cuda.current_stream(device).cuda_stream)


def _input(name, x, like):
    x = arrays.matrix(name, x, like.dtype)
    if x.device != like.device:
        raise TypeError(f"ccl: {name} is on {x.device} but the Residual head on {like.device}")
    return x


class _ResidualFunction(torch.autograd.Function):
    """(x_tv, z_tv) = Residual(x_t, x_v; W_1, b_1, W_2, b_2), forward and backward in ccl."""

    @staticmethod
    def forward(ctx, teacher, student, w1, b1, w2, b2, normalize):
        head = _make_head(w1, b1, w2, b2, normalize)
        composed, logits = head.forward(_input("teacher", teacher, w1),
                                        _input("student", student, w1))
        # The head keeps what its backward needs (the normalised inputs, the layers' inputs).
        ctx.head = head
        return arrays.to_torch(composed), arrays.to_torch(logits)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_composed, grad_logits):
        needs = ctx.needs_input_grad
        grads = ctx.head.backward(grad_composed.contiguous(), grad_logits.contiguous(),
                                  want_teacher=needs[0], want_student=needs[1])
        grads = [arrays.to_torch(g) if g is not None and need else None
                 for g, need in zip(grads, needs)]
        return (*grads, None)


def residual(teacher, student, residual_weight, residual_bias, classifier_weight,
             classifier_bias, normalize=True):
    """The Residual head as a function of its inputs and parameters: (x_tv, z_tv). Weights in
    torch.nn.Linear's layout: residual_weight [Dt, Dt + Dv], classifier_weight [C, Dt]."""
    return _ResidualFunction.apply(teacher, student, residual_weight, residual_bias,
                                   classifier_weight, classifier_bias, bool(normalize))


class _Affine(torch.nn.Module):
    """The weight [out, in] and bias [out] of one linear layer, named as in ccl's checkpoints
    (residual.weight, residual.bias, classifier.weight, classifier.bias)."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)
        self.bias = torch.nn.Parameter(bias)


class Residual(torch.nn.Module):
    """The paper's composition head (one per teacher): ``forward(teacher, student)`` returns the
    composed embedding x_tv [B, teacher_dim] and its class logits z_tv [B, classes].

    Initialised like ccl (PyTorch's default U(±1/√fan_in), drawn by ccl's generator): ``seed``
    gives the same parameters as ``ccl::compose::Residual`` built with ``ccl::Rng(seed)``; without
    a seed one is drawn from torch's default generator, so ``torch.manual_seed`` makes it
    reproducible. Gradients reach the student always and the teacher when it requires grad.
    Runs where its parameters are: on the CPU, or with ``.cuda()`` on the GPU in a build with
    CCL_PYTHON_CUDA=ON (ccl's compose::Residual<S, ccl::cuda>).
    """

    def __init__(self, teacher_dim, student_dim, classes, normalize=True, seed=None,
                 dtype=torch.float32):
        super().__init__()
        if dtype not in _HEADS:
            raise TypeError(f"ccl: Residual supports float32 and float64, not {dtype}")
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        w1, b1, w2, b2 = (arrays.to_torch(p) for p in _HEADS[dtype].initial_parameters(
            teacher_dim, student_dim, classes, seed))
        self.residual = _Affine(w1, b1)
        self.classifier = _Affine(w2, b2)
        self.normalize = bool(normalize)

    @property
    def teacher_dim(self):
        return self.residual.weight.shape[0]

    @property
    def student_dim(self):
        return self.residual.weight.shape[1] - self.residual.weight.shape[0]

    @property
    def classes(self):
        return self.classifier.weight.shape[0]

    def forward(self, teacher, student):
        return residual(teacher, student, self.residual.weight, self.residual.bias,
                        self.classifier.weight, self.classifier.bias, self.normalize)

    def extra_repr(self):
        return (f"teacher_dim={self.teacher_dim}, student_dim={self.student_dim}, "
                f"classes={self.classes}, normalize={self.normalize}")
