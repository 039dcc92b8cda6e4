#pragma once
// The CUDA side of <ccl/core/backend_matrix.hpp>: BackendMatrix<Scalar, ccl::cuda> is
// gpu::DeviceMatrix, with set_zero / add_scaled / assign and ccl::view / ccl::mutable_view
// overloads for it, so code written once over backend_matrix_t (the pipeline's gradient
// workspaces) runs on the device unchanged. Every operation is asynchronous on the settings'
// stream. The missing-teacher row operations of core/row_mask.hpp are forwarded here into
// namespace ccl as well, so that the same unqualified calls find the device versions
// (ccl/cuda/nn/rowwise_mask.hpp) by argument-dependent lookup.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/nn/rowwise_mask.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/cuda/views.hpp>

#include <cstddef>
#include <vector>

namespace ccl {

template <class Scalar>
struct BackendMatrix<Scalar, cuda> {
  using type = gpu::DeviceMatrix<Scalar>;
};

namespace gpu {

// These take a DeviceMatrix, whose namespace is ccl::gpu: argument-dependent lookup finds them
// there from generic code (e.g. `view(workspace)` inside ccl::pipeline), wherever this header
// is included.

template <class Scalar>
EmbeddingView<const Scalar, cuda> view(const DeviceMatrix<Scalar>& matrix) {
  return matrix.view();
}

template <class Scalar>
EmbeddingView<Scalar, cuda> mutable_view(DeviceMatrix<Scalar>& matrix) {
  return matrix.mutable_view();
}

template <class Scalar>
void set_zero(DeviceMatrix<Scalar>& matrix, Index rows, Index cols) {
  matrix.resize(rows, cols);
  matrix.zero(settings().stream);
}

/// matrix = source, resized; the source is a device view or a host one (an upload).
template <class Scalar, class From>
void assign(DeviceMatrix<Scalar>& matrix, EmbeddingView<const Scalar, From> source) {
  matrix.resize(source.rows(), source.cols());
  copy<Scalar>(source, matrix.mutable_view());
}

/// Checkpoint hooks (io/checkpoint_sections.hpp): a device tensor is saved from a host copy and
/// restored by one upload; both synchronise nothing beyond the copy itself.
template <class Scalar>
RowMatrix<Scalar> host_copy(const DeviceMatrix<Scalar>& value) {
  return to_host(value);
}

template <class Scalar>
void restore_from_host(DeviceMatrix<Scalar>& target, RowMatrix<Scalar>& decoded) {
  target.resize(decoded.rows(), decoded.cols());
  copy<Scalar>(ccl::view(decoded), target.mutable_view());
  CCL_CUDA_CHECK(cudaStreamSynchronize(settings().stream));  // `decoded` dies after the commit
}

template <class Scalar>
void zero_elements(DeviceMatrix<Scalar>& matrix) {
  matrix.zero(settings().stream);
}

}  // namespace gpu

// These take device views (namespace ccl).

template <class Scalar>
void add_scaled(EmbeddingView<Scalar, cuda> target, Scalar alpha,
                EmbeddingView<const Scalar, cuda> source) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "add_scaled: target has shape ", target.shape(), ", source ", source.shape());
  if (alpha == Scalar(0) || target.empty()) return;
  gpu::accumulate<Scalar>(source, target, alpha);
}

template <class Scalar>
void copy_into(EmbeddingView<const Scalar, cuda> source, EmbeddingView<Scalar, cuda> target) {
  gpu::copy<Scalar>(source, target);
}

template <class Scalar>
EmbeddingView<const Scalar, cpu> host_view(EmbeddingView<const Scalar, cuda> source,
                                           RowMatrix<Scalar>& scratch) {
  scratch.resize(source.rows(), source.cols());
  gpu::copy<Scalar>(source, ccl::mutable_view(scratch));  // synchronises the stream
  return ccl::view(scratch);
}

template <class T>
std::vector<Index> available_rows(const EmbeddingView<T, cuda>& x) {
  return gpu::available_rows(x);
}

template <class Scalar>
void gather_rows(EmbeddingView<const Scalar, cuda> source, const std::vector<Index>& rows,
                 EmbeddingView<Scalar, cuda> target) {
  gpu::gather_rows<Scalar>(source, rows, target);
}

template <class Scalar>
void scatter_add_rows(EmbeddingView<const Scalar, cuda> compact, const std::vector<Index>& rows,
                      EmbeddingView<Scalar, cuda> target) {
  gpu::scatter_add_rows<Scalar>(compact, rows, target);
}

}  // namespace ccl
