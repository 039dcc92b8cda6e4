#pragma once
// The device side of ccl/nn/residual.hpp: Identity and Residual are written once there over the
// tensor ops of nn/tensor_ops.hpp; this header brings their device versions (the branch sum and
// the gradient accumulation are one kernel each), so nn::Residual<Main, Shortcut> of device
// layers, and Identity<Scalar, Rank, ccl::cuda>, run on the GPU unchanged.

#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_ops.hpp>
#include <ccl/nn/residual.hpp>
