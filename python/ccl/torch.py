"""The ccl losses as ``torch.autograd.Function``s and the Residual composition head as a
``torch.nn.Module``. The forward computes value and gradients in ccl, reading the tensors in place
through DLPack; the backward scales those gradients (docs/python.md).

CPU tensors of float32/float64, and CUDA tensors in a build with CCL_PYTHON_CUDA=ON; contiguous
``[B, D]`` embeddings (a non-contiguous tensor is copied once by ``.contiguous()``). Labels are
converted to int64 host tensors when they are not.
"""
import torch
from torch.autograd.function import once_differentiable

from . import _torch_arrays as arrays
from ._ccl import Error
from ._torch_residual import Residual, residual

__all__ = ["Error", "multiclass_nce", "instance_nce", "symmetric", "distill",
           "symmetric_kl", "hinton_kd", "cross_entropy", "Residual", "residual"]


class _PairLoss(torch.autograd.Function):
    """value = ccl(f, g); backward returns grad_output times ccl's dL/df and dL/dg."""

    @staticmethod
    def forward(ctx, f, g, compute):
        fd, gd = arrays.pair(f, g)
        value, grad_f, grad_g = compute(fd, gd)
        ctx.save_for_backward(arrays.to_torch(grad_f), arrays.to_torch(grad_g))
        return torch.tensor(value, dtype=f.dtype, device=f.device)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        grad_f, grad_g = ctx.saved_tensors
        return grad_output * grad_f, grad_output * grad_g, None


class _LogitLoss(torch.autograd.Function):
    """value = ccl(z) on one logit matrix; backward returns grad_output times ccl's dL/dz."""

    @staticmethod
    def forward(ctx, logits, compute):
        value, grad = compute(arrays.matrix("logits", logits))
        ctx.save_for_backward(arrays.to_torch(grad))
        return torch.tensor(value, dtype=logits.dtype, device=logits.device)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None


def multiclass_nce(f, g, labels, tau=0.5, numerics="stable"):
    """Multi-class NCE L(f, g) of docs/losses.md: anchors are rows of f."""
    labels = arrays.labels(labels)
    return _PairLoss.apply(
        f, g, lambda a, b: arrays.ops(a).multiclass_nce(a, b, labels, float(tau), numerics))


def instance_nce(f, g, tau=0.5, numerics="stable"):
    """Instance NCE L(f, g) of docs/losses.md: the positive of row i is row i of g."""
    return _PairLoss.apply(
        f, g, lambda a, b: arrays.ops(a).instance_nce(a, b, float(tau), numerics))


def symmetric(f, g, labels=None, tau=0.5, numerics="stable"):
    """sym(f, g) = L(f, g) + L(g, f) in one ccl call: multi-class NCE with labels, instance NCE
    without."""
    if labels is None:
        return _PairLoss.apply(
            f, g, lambda a, b: arrays.ops(a).symmetric_instance_nce(a, b, float(tau), numerics))
    labels = arrays.labels(labels)
    return _PairLoss.apply(
        f, g,
        lambda a, b: arrays.ops(a).symmetric_multiclass_nce(a, b, labels, float(tau), numerics))


def distill(student, teacher, composed, labels, lam, tau=0.5, numerics="stable",
            two_way=False):
    """λ·L(student, teacher) + (1 − λ)·L(student, composed), docs/losses.md "Distill".

    L is multi-class NCE (the paper's formulation), or its symmetric form with ``two_way=True``
    (the official code's weighting). Composed from two ccl calls, so autograd routes gradients
    to all three inputs."""
    if not 0.0 <= lam <= 1.0:
        raise Error(f"ccl: distill: lambda {lam} is outside [0, 1]")
    loss = symmetric if two_way else multiclass_nce
    return (lam * loss(student, teacher, labels, tau, numerics) +
            (1 - lam) * loss(student, composed, labels, tau, numerics))


def symmetric_kl(z1, z2, weight=0.5, numerics="stable"):
    """The official code's "JSD": weight·(KL(p‖q) + KL(q‖p)) of the rows' softmaxes,
    docs/logit-losses.md."""
    return _PairLoss.apply(
        z1, z2, lambda a, b: arrays.ops(a).symmetric_kl(a, b, float(weight), numerics))


def hinton_kd(student_logits, teacher_logits, temperature=4.0):
    """Hinton KD: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), docs/logit-losses.md."""
    return _PairLoss.apply(student_logits, teacher_logits,
                           lambda a, b: arrays.ops(a).hinton_kd(a, b, float(temperature)))


def cross_entropy(logits, labels):
    """Softmax cross-entropy of [B, C] logits, mean over the batch (ccl::loss::CrossEntropy;
    torch.nn.functional.cross_entropy's default reduction)."""
    labels = arrays.labels(labels)
    return _LogitLoss.apply(logits, lambda z: arrays.ops(z).cross_entropy(z, labels))
