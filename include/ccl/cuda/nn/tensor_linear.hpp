#pragma once
// TensorLinear<Scalar, ccl::cuda>: the one nn::TensorLinear (nn/tensor_linear.hpp) around
// nn::Linear<Scalar, ccl::cuda>, so a projection or classifier head can close a Sequential of
// device layers: [N, in] -> [N, out]. The [N, out] result is copied device to device into the
// layer's output tensor (negligible next to the N·in·out GEMM).

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/nn/tensor_linear.hpp>
