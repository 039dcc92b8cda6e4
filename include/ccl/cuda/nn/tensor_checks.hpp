#pragma once
// The device NaN/Inf scan of ccl/nn/tensor_checks.hpp (whose shape checks serve every backend),
// with the same message: the scan runs as a kernel and only the first offending index and value
// come back ("Conv3d: input (shape [2, 3, 8, 16, 16]) has a
// non-finite value nan at flat index 17").

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/finite.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>

namespace ccl::nn::tensor_checks {

/// Index of the first NaN/Inf among `count` device values, or -1; synchronises `stream`.
/// `scratch` is a one-element workspace reused across calls.
template <class Scalar>
long long first_non_finite(const Scalar* data, long long count,
                           gpu::DeviceBuffer<unsigned long long>& scratch, cudaStream_t stream) {
  if (count == 0) return -1;
  scratch.resize(1);
  const unsigned long long none = ~0ull;
  CCL_CUDA_CHECK(
      cudaMemcpyAsync(scratch.data(), &none, sizeof(none), cudaMemcpyHostToDevice, stream));
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<long long>((count + threads - 1) / threads, 4096));
  gpu::kernels::first_non_finite_kernel<Scalar><<<blocks, threads, 0, stream>>>(
      data, static_cast<std::ptrdiff_t>(count), 1, count, scratch.data());
  CCL_CUDA_CHECK_LAUNCH("first_non_finite_kernel");
  unsigned long long first = none;
  CCL_CUDA_CHECK(
      cudaMemcpyAsync(&first, scratch.data(), sizeof(first), cudaMemcpyDeviceToHost, stream));
  CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
  return first == none ? -1 : static_cast<long long>(first);
}

/// The device scan behind the CPU check of the same name and message.
template <class Scalar, int Rank>
void finite(const char* op, const char* name, const Tensor<Scalar, Rank, cuda>& x,
            gpu::DeviceBuffer<unsigned long long>& scratch, cudaStream_t stream) {
  const long long bad = first_non_finite(x.data(), x.size(), scratch, stream);
  if (bad < 0) return;
  Scalar value{};
  CCL_CUDA_CHECK(cudaMemcpy(&value, x.data() + bad, sizeof(Scalar), cudaMemcpyDeviceToHost));
  throw error(ccl::detail::concat(op, ": ", name, " (shape ", x.shape_string(),
                                  ") has a non-finite value ", value, " at flat index ", bad));
}

}  // namespace ccl::nn::tensor_checks
