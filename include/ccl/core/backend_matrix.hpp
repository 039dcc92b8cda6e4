#pragma once
// BackendMatrix<Scalar, Backend>: the owning row-major matrix type of a backend — RowMatrix on
// the CPU, gpu::DeviceMatrix on CUDA (the specialisation is in <ccl/cuda/backend_matrix.hpp>) —
// and the few whole-matrix operations that code written once for every backend needs (the
// pipeline's gradient workspaces):
//
//   backend_matrix_t<S, B> m;           set_zero(m, rows, cols);       view(m); mutable_view(m);
//   add_scaled(target_view, alpha, source_view);   // target += alpha * source
//   assign(m, source_view);                        // m = source (resized)
//   copy_into(source_view, target_view);           // target = source (same shape)
//   host_view(view, scratch);                      // a host view of the data (a copy on CUDA)
//   host_copy(m);  restore_from_host(m, decoded);  zero_elements(m);   // checkpoints, optimiser
//                                                                      // state
//
// Overload resolution on the view's backend picks the implementation, so the algorithms that use
// them contain no #ifdef and no backend test.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <type_traits>

namespace ccl {

template <class Scalar, class Backend>
struct BackendMatrix {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::BackendMatrix<Scalar, ccl::cuda> lives in <ccl/cuda/backend_matrix.hpp>; "
                "include it (or <ccl/cuda.hpp>) in a translation unit compiled by nvcc");
  using type = RowMatrix<Scalar>;
};

template <class Scalar, class Backend = cpu>
using backend_matrix_t = typename BackendMatrix<Scalar, Backend>::type;

/// Resizes to [rows, cols] and zeroes every element.
template <class Scalar>
void set_zero(RowMatrix<Scalar>& matrix, Index rows, Index cols) {
  matrix.setZero(rows, cols);
}

/// target += alpha * source (same shape; either may be a strided row block).
template <class Scalar>
void add_scaled(EmbeddingView<Scalar, cpu> target, Scalar alpha,
                EmbeddingView<const Scalar, cpu> source) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "add_scaled: target has shape ", target.shape(), ", source ", source.shape());
  if (alpha == Scalar(0) || target.empty()) return;
  target.matrix() += alpha * source.matrix();
}

/// matrix = source, resizing the matrix (the CUDA overload also uploads a host view).
template <class Scalar>
void assign(RowMatrix<Scalar>& matrix, EmbeddingView<const Scalar, cpu> source) {
  matrix = source.matrix();
}

/// target = source (same shape; either may be a strided row block).
template <class Scalar>
void copy_into(EmbeddingView<const Scalar, cpu> source, EmbeddingView<Scalar, cpu> target) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "copy_into: target has shape ", target.shape(), ", source ", source.shape());
  target.matrix() = source.matrix();
}

/// A host view of `source`: the view itself on the CPU; the CUDA overload copies into `scratch`
/// (synchronising) and views that. For metrics and logs that read a few values per batch.
template <class Scalar>
EmbeddingView<const Scalar, cpu> host_view(EmbeddingView<const Scalar, cpu> source,
                                           RowMatrix<Scalar>& /*scratch*/) {
  return source;
}

/// The value as a host matrix, for checkpoints: the matrix itself here, a download on CUDA.
template <class Scalar>
const RowMatrix<Scalar>& host_copy(const RowMatrix<Scalar>& value) {
  return value;
}

/// Restores `target` from a decoded host matrix, which it may consume (a swap here, an upload on
/// CUDA).
template <class Scalar>
void restore_from_host(RowMatrix<Scalar>& target, RowMatrix<Scalar>& decoded) {
  target.swap(decoded);
}

/// Zeroes every element, keeping the shape.
template <class Scalar>
void zero_elements(RowMatrix<Scalar>& matrix) {
  matrix.setZero();
}

}  // namespace ccl
