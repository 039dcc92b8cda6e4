#pragma once
// ReLU<Scalar, Rank, ccl::cuda>: the one nn::ReLU (ccl/nn/relu.hpp) on device tensors,
// y = max(x, 0) with derivative 0 at 0 (PyTorch's rule), NaN propagating as on the CPU. This
// header brings the device tensor ops it is written over (one kernel each way).

#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_ops.hpp>
#include <ccl/nn/relu.hpp>
