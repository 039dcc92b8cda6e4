"""Tensors in and out of the extension for ``ccl.torch``.

In: a tensor is detached (autograd refuses to export a tensor that requires grad through DLPack)
and handed to the extension, which imports it through ``__dlpack__`` and reads its memory in
place. Only a non-contiguous tensor is copied, once, by ``.contiguous()``.
Out: the extension's arrays become tensors through ``torch.utils.dlpack.from_dlpack``, which
takes their memory over without a copy.
CUDA tensors go to ``_ccl.cuda`` (a build with CCL_PYTHON_CUDA=ON) with PyTorch's current stream.
"""
import functools

import torch
from torch.utils.dlpack import from_dlpack

from . import _ccl

SUPPORTED_DTYPES = (torch.float32, torch.float64)


def to_torch(array):
    """A tensor over an array the extension allocated (no copy)."""
    return from_dlpack(array)


def check_device(name, x):
    """CPU tensors always; CUDA tensors in a build with the CUDA backend."""
    if x.device.type == "cpu":
        return
    if x.device.type == "cuda" and not _ccl.has_cuda:
        raise TypeError(f"ccl: {name} is on {x.device}, but this build of ccl has no CUDA "
                        "backend (build the package with CCL_PYTHON_CUDA=ON)")
    if x.device.type != "cuda":
        raise TypeError(f"ccl: {name} is on {x.device}; ccl supports CPU and CUDA tensors")


class _CudaOps:
    """_ccl.cuda's functions with the stream PyTorch is queueing work on for `device`, so that
    ccl's kernels run after the ones that produced their inputs."""

    def __init__(self, device):
        self.stream = torch.cuda.current_stream(device).cuda_stream

    def __getattr__(self, name):
        return functools.partial(getattr(_ccl.cuda, name), stream=self.stream)


def ops(x):
    """The extension's functions for x's device."""
    return _ccl if x.device.type == "cpu" else _CudaOps(x.device)


def matrix(name, x, dtype=None):
    """x as the extension reads it: a detached, C-contiguous float32/float64 [rows, cols] tensor
    (the same memory when x is already contiguous)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"ccl: {name} must be a torch.Tensor, not {type(x).__name__}")
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"ccl: {name} must be float32 or float64, not {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"ccl: {name} is {x.dtype} but must be {dtype} like the other inputs")
    check_device(name, x)
    if x.dim() != 2:
        raise ValueError(f"ccl: {name} must be [B, D], not of shape {list(x.shape)}")
    return x.detach().contiguous()


def pair(f, g):
    f, g = matrix("f", f), matrix("g", g)
    if f.dtype != g.dtype:
        raise TypeError(f"ccl: f and g must have the same dtype ({f.dtype} vs {g.dtype})")
    if f.device != g.device:
        raise TypeError(f"ccl: f and g must be on the same device ({f.device} vs {g.device})")
    return f, g


def labels(values):
    """Class labels as the contiguous int64 host tensor the extension reads: a copy only when they
    are not int64 already or live on a GPU (ccl's CUDA backend takes labels from the host)."""
    values = torch.as_tensor(values)
    if values.dtype.is_floating_point or values.dtype == torch.bool:
        raise TypeError(f"ccl: labels must be integers, not {values.dtype}")
    return values.to(device="cpu", dtype=torch.int64).contiguous()

