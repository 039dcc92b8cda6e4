"""The ccl losses as ``torch.autograd.Function``s: the forward computes value and gradients in
ccl (reading the tensors in place through DLPack); the backward scales those gradients.

CPU tensors of float32/float64; contiguous ``[B, D]`` embeddings (a non-contiguous tensor is
copied with ``.contiguous()``, documented in docs/python.md). Labels are converted to int64.
"""
import torch

from . import _ccl
from ._ccl import Error

__all__ = ["Error", "multiclass_nce", "instance_nce", "symmetric", "distill",
           "symmetric_kl", "hinton_kd"]

_SUPPORTED = (torch.float32, torch.float64)


def _embeddings(name, x):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"ccl: {name} must be a torch.Tensor, not {type(x).__name__}")
    if x.dtype not in _SUPPORTED:
        raise TypeError(f"ccl: {name} must be float32 or float64, not {x.dtype}")
    if x.device.type != "cpu":
        raise TypeError(f"ccl: {name} is on {x.device}; this build of ccl supports CPU tensors")
    if x.dim() != 2:
        raise ValueError(f"ccl: {name} must be [B, D], not of shape {list(x.shape)}")
    return x.detach().contiguous()


def _pair(f, g):
    f, g = _embeddings("f", f), _embeddings("g", g)
    if f.dtype != g.dtype:
        raise TypeError(f"ccl: f and g must have the same dtype ({f.dtype} vs {g.dtype})")
    return f, g


def _labels(labels, device):
    labels = torch.as_tensor(labels, device=device)
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"ccl: labels must be integers, not {labels.dtype}")
    return labels.to(torch.int64).contiguous()


class _PairLoss(torch.autograd.Function):
    """value = ccl(f, g); backward returns grad_output times ccl's dL/df and dL/dg."""

    @staticmethod
    def forward(ctx, f, g, compute):
        fd, gd = _pair(f, g)
        value, grad_f, grad_g = compute(fd.numpy(), gd.numpy())
        ctx.save_for_backward(torch.from_numpy(grad_f), torch.from_numpy(grad_g))
        return torch.tensor(value, dtype=f.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad_f, grad_g = ctx.saved_tensors
        return grad_output * grad_f, grad_output * grad_g, None


def multiclass_nce(f, g, labels, tau=0.5, numerics="stable"):
    """Multi-class NCE L(f, g) of docs/losses.md: anchors are rows of f."""
    labels = _labels(labels, f.device).numpy()
    return _PairLoss.apply(
        f, g, lambda a, b: _ccl.multiclass_nce(a, b, labels, float(tau), numerics))


def instance_nce(f, g, tau=0.5, numerics="stable"):
    """Instance NCE L(f, g) of docs/losses.md: the positive of row i is row i of g."""
    return _PairLoss.apply(f, g, lambda a, b: _ccl.instance_nce(a, b, float(tau), numerics))


def symmetric(f, g, labels=None, tau=0.5, numerics="stable"):
    """sym(f, g) = L(f, g) + L(g, f) in one ccl call: multi-class NCE with labels, instance NCE
    without."""
    if labels is None:
        return _PairLoss.apply(
            f, g, lambda a, b: _ccl.symmetric_instance_nce(a, b, float(tau), numerics))
    labels = _labels(labels, f.device).numpy()
    return _PairLoss.apply(
        f, g, lambda a, b: _ccl.symmetric_multiclass_nce(a, b, labels, float(tau), numerics))


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
    return _PairLoss.apply(z1, z2, lambda a, b: _ccl.symmetric_kl(a, b, float(weight), numerics))


def hinton_kd(student_logits, teacher_logits, temperature=4.0):
    """Hinton KD: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), docs/logit-losses.md."""
    return _PairLoss.apply(student_logits, teacher_logits,
                           lambda a, b: _ccl.hinton_kd(a, b, float(temperature)))
