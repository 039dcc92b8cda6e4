#pragma once
// Device-side versions of the argument checks in ccl/core/checks.hpp that must read the data:
// the NaN/Inf scan runs as a kernel and only the first offending index and value come back, so
// the error reads exactly like the CPU backend's ("f[3, 17] = nan is not finite").

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/finite.cuh>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace ccl::gpu::checks {

/// The flat index (row · cols + col) of the first NaN/Inf of the view, or -1 when every element is
/// finite. `scratch` is a one-element workspace reused across calls; synchronises `stream`.
template <class T>
Index first_non_finite(const EmbeddingView<T, cuda>& view,
                       DeviceBuffer<unsigned long long>& scratch, cudaStream_t stream) {
  using Scalar = std::remove_const_t<T>;
  if (view.empty()) return -1;
  scratch.resize(1);
  const unsigned long long none = ~0ull;
  CCL_CUDA_CHECK(
      cudaMemcpyAsync(scratch.data(), &none, sizeof(none), cudaMemcpyHostToDevice, stream));
  const long long total = static_cast<long long>(view.rows()) * view.cols();
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<long long>((total + threads - 1) / threads, 4096));
  kernels::first_non_finite_kernel<Scalar>
      <<<blocks, threads, 0, stream>>>(view.data(), static_cast<std::ptrdiff_t>(view.row_stride()),
                                       view.rows(), view.cols(), scratch.data());
  CCL_CUDA_CHECK_LAUNCH("first_non_finite_kernel");
  unsigned long long first = none;
  CCL_CUDA_CHECK(
      cudaMemcpyAsync(&first, scratch.data(), sizeof(first), cudaMemcpyDeviceToHost, stream));
  CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
  return first == none ? Index(-1) : static_cast<Index>(first);
}

/// Throws ccl::error naming op, argument, element and value if the view holds a NaN or Inf.
/// `scratch` is a one-element workspace reused across calls; synchronises `stream`.
template <class T>
void finite(const char* op, const char* name, const EmbeddingView<T, cuda>& view,
            DeviceBuffer<unsigned long long>& scratch, cudaStream_t stream) {
  using Scalar = std::remove_const_t<T>;
  const Index first = first_non_finite(view, scratch, stream);
  if (first < 0) return;
  const Index row = first / view.cols(), col = first % view.cols();
  Scalar value{};
  CCL_CUDA_CHECK(cudaMemcpy(&value, view.data() + row * view.row_stride() + col, sizeof(Scalar),
                            cudaMemcpyDeviceToHost));
  throw error(
      ccl::detail::concat(op, ": ", name, "[", row, ", ", col, "] = ", value, " is not finite"));
}

}  // namespace ccl::gpu::checks
