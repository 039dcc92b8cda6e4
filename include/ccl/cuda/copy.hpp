#pragma once
// Host <-> device copies of embeddings. Both sides may be strided views (a row block of a larger
// matrix); one cudaMemcpy2DAsync moves all rows. The functions that return or fill host memory
// synchronise the stream before returning, so the result can be read at once. The stream is the
// caller's: give a component's (its execution().stream) when the data feeds or comes from it;
// the default is the legacy default stream.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/views.hpp>

#include <Eigen/Core>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <type_traits>

namespace ccl::gpu {

namespace detail {

template <class T, class From, class To>
void copy_rows(const EmbeddingView<const T, From>& source, const EmbeddingView<T, To>& target,
               cudaMemcpyKind kind, cudaStream_t stream) {
  require(source.rows() == target.rows() && source.cols() == target.cols(),
          "gpu::copy: target has shape ", target.shape(), ", expected ", source.shape(),
          " to match source");
  if (source.empty()) return;
  const std::size_t row_bytes = static_cast<std::size_t>(source.cols()) * sizeof(T);
  CCL_CUDA_CHECK(
      cudaMemcpy2DAsync(target.data(), static_cast<std::size_t>(target.row_stride()) * sizeof(T),
                        source.data(), static_cast<std::size_t>(source.row_stride()) * sizeof(T),
                        row_bytes, static_cast<std::size_t>(source.rows()), kind, stream));
}

}  // namespace detail

/// Host -> device into an existing device view of the same shape (asynchronous on `stream`;
/// pageable host memory is staged before the call returns, so the source may be reused).
template <class T>
void copy(EmbeddingView<const T, cpu> source, EmbeddingView<T, cuda> target,
          cudaStream_t stream = nullptr) {
  require_device_memory("gpu::copy", "target", target);
  detail::copy_rows(source, target, cudaMemcpyHostToDevice, stream);
}

/// Device -> host into an existing host view of the same shape; returns when the data is there.
template <class T>
void copy(EmbeddingView<const T, cuda> source, EmbeddingView<T, cpu> target,
          cudaStream_t stream = nullptr) {
  require_device_memory("gpu::copy", "source", source);
  detail::copy_rows(source, target, cudaMemcpyDeviceToHost, stream);
  CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

/// Device -> device between views of the same shape (asynchronous on `stream`).
template <class T>
void copy(EmbeddingView<const T, cuda> source, EmbeddingView<T, cuda> target,
          cudaStream_t stream = nullptr) {
  require_device_memory("gpu::copy", "source", source);
  require_device_memory("gpu::copy", "target", target);
  detail::copy_rows(source, target, cudaMemcpyDeviceToDevice, stream);
}

/// A device copy of host embeddings: `auto f_dev = ccl::gpu::to_device(f);`.
template <class T>
DeviceMatrix<T> to_device(EmbeddingView<const T, cpu> source, cudaStream_t stream = nullptr) {
  DeviceMatrix<T> result(source.rows(), source.cols());
  copy<T>(source, result.mutable_view(), stream);
  return result;
}

/// Overload for Eigen matrices, Maps and row blocks (anything ccl::view accepts).
template <class M, class = std::enable_if_t<ccl::detail::is_eigen_dense_v<M>>>
auto to_device(const M& matrix, cudaStream_t stream = nullptr) {
  using T = typename std::decay_t<M>::Scalar;
  return to_device<T>(ccl::view(matrix), stream);
}

/// A host copy of device embeddings, synchronised: `RowMatrix<float> g = to_host(grad.view());`.
template <class T>
RowMatrix<T> to_host(EmbeddingView<const T, cuda> source, cudaStream_t stream = nullptr) {
  RowMatrix<T> result(source.rows(), source.cols());
  copy<T>(source, mutable_view(result), stream);
  return result;
}

template <class T>
RowMatrix<T> to_host(const DeviceMatrix<T>& source, cudaStream_t stream = nullptr) {
  return to_host<T>(source.view(), stream);
}

}  // namespace ccl::gpu
