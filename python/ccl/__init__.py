"""ccl: compositional contrastive learning losses with their gradients, on NumPy/DLPack arrays.

``import ccl`` needs NumPy only; ``import ccl.torch`` adds the PyTorch autograd functions.
"""
from ._ccl import (Error, hinton_kd, instance_nce, multiclass_nce, symmetric_instance_nce,
                   symmetric_kl, symmetric_multiclass_nce)

__all__ = [
    "Error", "multiclass_nce", "instance_nce", "symmetric_multiclass_nce", "symmetric_instance_nce",
    "symmetric_kl", "hinton_kd"
]
