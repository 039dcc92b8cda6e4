#pragma once
// Missing teacher rows on the device: the device counterparts of available_rows, gather_rows and
// scatter_add_rows (ccl/core/row_mask.hpp, which explains why a teacher's branch runs on a
// compact batch instead of zeroing rows). The row list stays a host std::vector<Index> as on the
// CPU; the functions upload it (O(B)) and run one kernel. available_rows synchronises (its
// result is a host vector); gather and scatter do not.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/row_index.cuh>
#include <ccl/cuda/kernels/rowwise.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/views.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <type_traits>
#include <vector>

namespace ccl::gpu {

/// Indices of the rows of a device batch that are not all zero, in increasing order (the rule
/// of ccl::available_rows). Synchronises `stream`.
template <class T>
std::vector<Index> available_rows(const EmbeddingView<T, cuda>& x, cudaStream_t stream = nullptr) {
  using Scalar = std::remove_const_t<T>;
  constexpr const char* op = "gpu::available_rows";
  std::vector<Index> rows;
  if (x.rows() == 0) return rows;
  require_int_shape(op, "x", x);
  require_device_memory(op, "x", x);
  DeviceBuffer<int> present(static_cast<std::size_t>(x.rows()));
  kernels::nonzero_rows_kernel<Scalar><<<int((x.rows() + 7) / 8), 256, 0, stream>>>(
      x.data(), detail::stride(x.row_stride()), int(x.rows()), int(x.cols()), present.data());
  CCL_CUDA_CHECK_LAUNCH("nonzero_rows_kernel");
  std::vector<int> flags(static_cast<std::size_t>(x.rows()));
  CCL_CUDA_CHECK(cudaMemcpyAsync(flags.data(), present.data(), flags.size() * sizeof(int),
                                 cudaMemcpyDeviceToHost, stream));
  CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (std::size_t i = 0; i < flags.size(); ++i)
    if (flags[i] != 0) rows.push_back(Index(i));
  return rows;
}

namespace detail {
inline void upload_rows(const std::vector<Index>& rows, DeviceBuffer<long long>& device,
                        cudaStream_t stream) {
  std::vector<long long> host(rows.begin(), rows.end());
  device.resize(host.size());
  if (host.empty()) return;
  CCL_CUDA_CHECK(cudaMemcpyAsync(device.data(), host.data(), host.size() * sizeof(long long),
                                 cudaMemcpyHostToDevice, stream));
  // The staging vector dies here: pageable memcpy has copied it out before returning.
}
}  // namespace detail

/// target[k] = source[rows[k]]; target must be [rows.size(), source.cols()].
template <class Scalar>
void gather_rows(EmbeddingView<const Scalar, cuda> source, const std::vector<Index>& rows,
                 EmbeddingView<Scalar, cuda> target, cudaStream_t stream = nullptr) {
  constexpr const char* op = "gather_rows";
  ccl::detail::check_row_indices(op, rows, source.rows());
  require(target.rows() == Index(rows.size()) && target.cols() == source.cols(), op,
          ": target has shape ", target.shape(), ", expected [", rows.size(), ", ", source.cols(),
          "]");
  if (target.empty()) return;
  require_int_shape(op, "source", source);
  require_device_memory(op, "source", source);
  require_device_memory(op, "target", target);
  DeviceBuffer<long long> index;
  detail::upload_rows(rows, index, stream);
  const long long count = static_cast<long long>(target.rows()) * target.cols();
  gpu::launch_elementwise("gather_rows_kernel", count, stream, kernels::gather_rows_kernel<Scalar>,
                          source.data(), detail::stride(source.row_stride()), index.data(),
                          int(rows.size()), int(source.cols()), target.data(),
                          detail::stride(target.row_stride()));
  // `index` is freed by cudaFree, which waits for the kernel: no use-after-free.
}

/// The rows of source listed in `rows`, as a new [rows.size(), D] device matrix.
template <class Scalar>
DeviceMatrix<Scalar> gather_rows(EmbeddingView<const Scalar, cuda> source,
                                 const std::vector<Index>& rows, cudaStream_t stream = nullptr) {
  DeviceMatrix<Scalar> out(Index(rows.size()), source.cols());
  gpu::gather_rows<Scalar>(source, rows, out.mutable_view(), stream);
  return out;
}

/// target[rows[k]] += compact[k]: rows not listed receive nothing. Indices must be distinct.
template <class Scalar>
void scatter_add_rows(EmbeddingView<const Scalar, cuda> compact, const std::vector<Index>& rows,
                      EmbeddingView<Scalar, cuda> target, cudaStream_t stream = nullptr) {
  constexpr const char* op = "scatter_add_rows";
  ccl::detail::check_row_indices(op, rows, target.rows());
  require(compact.rows() == Index(rows.size()) && compact.cols() == target.cols(), op,
          ": compact has shape ", compact.shape(), ", expected [", rows.size(), ", ", target.cols(),
          "] (one row per index, target's width)");
  if (compact.empty()) return;
  require_int_shape(op, "target", target);
  require_device_memory(op, "compact", compact);
  require_device_memory(op, "target", target);
  DeviceBuffer<long long> index;
  detail::upload_rows(rows, index, stream);
  const long long count = static_cast<long long>(compact.rows()) * compact.cols();
  gpu::launch_elementwise("scatter_add_rows_kernel", count, stream,
                          kernels::scatter_add_rows_kernel<Scalar>, compact.data(),
                          detail::stride(compact.row_stride()), index.data(), int(rows.size()),
                          int(compact.cols()), target.data(), detail::stride(target.row_stride()));
}

}  // namespace ccl::gpu
