#pragma once
// Flatten<Scalar, Rank, ccl::cuda>: the one nn::Flatten (ccl/nn/flatten.hpp) on device tensors,
// [N, d1, ..., dk] -> [N, d1 * ... * dk]; C order makes it a device copy. This header brings the
// device tensor ops it is written over.

#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_ops.hpp>
#include <ccl/nn/flatten.hpp>
