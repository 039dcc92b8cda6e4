#pragma once
// The device NaN/Inf scan of ccl/nn/tensor_checks.hpp (whose shape checks serve every backend),
// with the same message: the scan runs as a kernel and only the first offending index and value
// come back ("Conv3d: input (shape [2, 3, 8, 16, 16]) has a
// non-finite value nan at flat index 17").

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cuda_runtime_api.h>

namespace ccl::nn::tensor_checks {

/// Index of the first NaN/Inf among `count` device values, or -1; synchronises `stream`.
/// `scratch` is a one-element workspace reused across calls.
template <class Scalar>
long long first_non_finite(const Scalar* data, long long count,
                           gpu::DeviceBuffer<unsigned long long>& scratch, cudaStream_t stream) {
  // The elements as one [1, count] row: the scan of gpu::checks.
  return gpu::checks::first_non_finite(EmbeddingView<const Scalar, cuda>(data, 1, count), scratch,
                                       stream);
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
