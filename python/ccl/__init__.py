"""ccl: compositional contrastive learning losses with their gradients, on NumPy/DLPack arrays.

``import ccl`` needs NumPy only; ``import ccl.torch`` adds the PyTorch autograd functions and the
``Residual`` composition head.

Inputs are any C-contiguous float32/float64 CPU arrays that speak DLPack or the buffer protocol
(NumPy, PyTorch, JAX, CuPy's host arrays...): ccl reads them in place. A wrong dtype or a
non-contiguous array is a ``TypeError``, never a silent conversion. The gradients are arrays that
ccl allocated, returned as NumPy arrays over that memory (no copy).
"""
import numpy as _np

from . import _ccl
from ._ccl import Error

__all__ = [
    "Error", "multiclass_nce", "instance_nce", "symmetric_multiclass_nce", "symmetric_instance_nce",
    "symmetric_kl", "hinton_kd", "cross_entropy"
]


def _numpy_results(results):
    """(value, grad, ...) with each gradient viewed as a NumPy array; np.asarray takes the
    extension's buffer over without copying it."""
    value, *grads = results
    return (value, *(_np.asarray(grad) for grad in grads))


def multiclass_nce(f, g, labels, temperature, numerics="stable"):
    """Multi-class NCE L(f, g) (docs/losses.md): (value, dL/df, dL/dg). labels: int64 [B]."""
    return _numpy_results(_ccl.multiclass_nce(f, g, labels, temperature, numerics))


def instance_nce(f, g, temperature, numerics="stable"):
    """Instance NCE L(f, g): (value, dL/df, dL/dg)."""
    return _numpy_results(_ccl.instance_nce(f, g, temperature, numerics))


def symmetric_multiclass_nce(f, g, labels, temperature, numerics="stable"):
    """L(f, g) + L(g, f) with multi-class NCE: (value, dL/df, dL/dg)."""
    return _numpy_results(_ccl.symmetric_multiclass_nce(f, g, labels, temperature, numerics))


def symmetric_instance_nce(f, g, temperature, numerics="stable"):
    """L(f, g) + L(g, f) with instance NCE: (value, dL/df, dL/dg)."""
    return _numpy_results(_ccl.symmetric_instance_nce(f, g, temperature, numerics))


def symmetric_kl(z1, z2, weight=0.5, numerics="stable"):
    """The official code's "JSD" on logits (docs/logit-losses.md): (value, dL/dz1, dL/dz2)."""
    return _numpy_results(_ccl.symmetric_kl(z1, z2, weight, numerics))


def hinton_kd(student, teacher, temperature=4.0):
    """Hinton KD on logits: (value, dL/dstudent, dL/dteacher)."""
    return _numpy_results(_ccl.hinton_kd(student, teacher, temperature))


def cross_entropy(logits, labels):
    """Softmax cross-entropy, mean over the batch (method.md §4.1): (value, dL/dlogits)."""
    return _numpy_results(_ccl.cross_entropy(logits, labels))
