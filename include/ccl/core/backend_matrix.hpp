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
//   host_copy(m);  restore_from_host(m, decoded);  restore_zeros(m);   // checkpoints
//   zero_elements(m);                              // keeps the shape (optimiser state)
//
//
// and the compute vocabulary that layers and composition heads are written once over:
//
//   OpScratch<S, B> scratch;   // what the ops keep between calls (GEMM partials, cuBLAS handle)
//                              // and the Execution they run with (scratch.execution)
//   matmul(out, a, Operand::as_is, b, Operand::transposed, Gemm::overwrite, scratch);
//   add_to_rows(out, row);      add_column_sums(sums, x);       add_into(out, a, b);
//   check_finite(op, name, view, scratch);      require_backend_memory(op, name, view);
//   first_non_finite(view, scratch);            // the scan's flat index, or -1
//
// and what data-parallel code (ccl/dist/) moves data with:
//
//   convert_into(source, target, scale);        // target = To(double(source) * scale)
//   copy_from_host(host_view, target);  copy_to_host(view, host_target);   // staging
//
// Every op runs where the component's Execution<B> says (core/execution.hpp): the ops that keep
// scratch read it from scratch.execution, the others take it as their last argument, which host
// code may omit (the host has nothing to choose) and device code must give (its stream).
//
// Overload resolution on the view's backend picks the implementation (the CUDA overloads are in
// <ccl/cuda/backend_matrix.hpp>, found by argument-dependent lookup on ccl::EmbeddingView), so
// the algorithms that use them contain no #ifdef and no backend test. Each CPU version is the
// Eigen expression the host layers always used, so host results are unchanged to the bit.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/types.hpp>

#include <cmath>
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
void set_zero(RowMatrix<Scalar>& matrix, Index rows, Index cols, const Execution<cpu>& = {}) {
  matrix.setZero(rows, cols);
}

/// target += alpha * source (same shape; either may be a strided row block).
template <class Scalar>
void add_scaled(EmbeddingView<Scalar, cpu> target, Scalar alpha,
                EmbeddingView<const Scalar, cpu> source, const Execution<cpu>& = {}) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "add_scaled: target has shape ", target.shape(), ", source ", source.shape());
  if (alpha == Scalar(0) || target.empty()) return;
  target.matrix() += alpha * source.matrix();
}

/// matrix = source, resizing the matrix (the CUDA overload also uploads a host view).
template <class Scalar>
void assign(RowMatrix<Scalar>& matrix, EmbeddingView<const Scalar, cpu> source,
            const Execution<cpu>& = {}) {
  matrix = source.matrix();
}

/// target = source (same shape; either may be a strided row block).
template <class Scalar>
void copy_into(EmbeddingView<const Scalar, cpu> source, EmbeddingView<Scalar, cpu> target,
               const Execution<cpu>& = {}) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "copy_into: target has shape ", target.shape(), ", source ", source.shape());
  target.matrix() = source.matrix();
}

/// A host view of `source`: the view itself on the CPU; the CUDA overload copies into `scratch`
/// (synchronising) and views that. For metrics and logs that read a few values per batch.
template <class Scalar>
EmbeddingView<const Scalar, cpu> host_view(EmbeddingView<const Scalar, cpu> source,
                                           RowMatrix<Scalar>& /*scratch*/,
                                           const Execution<cpu>& = {}) {
  return source;
}

/// What the compute ops keep between calls of one object, per backend: on the CPU the partial
/// products of a depth-split GEMM (so a layer's products allocate nothing after the first
/// batch); on CUDA a cuBLAS handle and the NaN scan's flag.
template <class Scalar, class Backend>
struct OpScratch {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::OpScratch<Scalar, ccl::cuda> lives in <ccl/cuda/backend_matrix.hpp>; "
                "include it (or <ccl/cuda.hpp>) in a translation unit compiled by nvcc");
  GemmScratch<Scalar> gemm;
  Execution<cpu> execution;
  void set_execution(const Execution<cpu>& e) { rebind_execution(execution, e); }
};

/// How matmul reads an operand: as stored, or transposed.
enum class Operand : bool { as_is = false, transposed = true };

/// out = op(a) op(b) (Gemm::overwrite) or out += op(a) op(b) (Gemm::accumulate), all row-major
/// views (strided rows allowed); the host product is parallel_gemm's.
template <class Scalar>
void matmul(EmbeddingView<Scalar, cpu> out, EmbeddingView<const Scalar, cpu> a, Operand op_a,
            EmbeddingView<const Scalar, cpu> b, Operand op_b, Gemm mode,
            OpScratch<Scalar, cpu>& scratch) {
  const auto arg = [](const EmbeddingView<const Scalar, cpu>& v, Operand op) {
    return op == Operand::transposed ? gemm_arg_transposed(v.matrix()) : gemm_arg(v.matrix());
  };
  parallel_gemm(out.matrix(), arg(a, op_a), arg(b, op_b), mode, scratch.gemm);
}

/// out[i, :] += row for every row i (row: [1, out.cols()]): a bias.
template <class Scalar>
void add_to_rows(EmbeddingView<Scalar, cpu> out, EmbeddingView<const Scalar, cpu> row,
                 const Execution<cpu>& = {}) {
  if (out.empty()) return;
  out.matrix().rowwise() += row.matrix().row(0);
}

/// sums[0, j] += Σ_i x[i, j] (sums: [1, x.cols()]): a bias gradient.
template <class Scalar>
void add_column_sums(EmbeddingView<Scalar, cpu> sums, EmbeddingView<const Scalar, cpu> x,
                     const Execution<cpu>& = {}) {
  sums.matrix().row(0) += x.matrix().colwise().sum();
}

/// out = a + b (same shapes).
template <class Scalar>
void add_into(EmbeddingView<Scalar, cpu> out, EmbeddingView<const Scalar, cpu> a,
              EmbeddingView<const Scalar, cpu> b, const Execution<cpu>& = {}) {
  out.matrix() = a.matrix() + b.matrix();
}

/// Throws ccl::error naming the first NaN/Inf of `v` (the CUDA overload scans on the device).
template <class T>
void check_finite(const char* op, const char* name, const EmbeddingView<T, cpu>& v,
                  OpScratch<std::remove_const_t<T>, cpu>& /*scratch*/) {
  checks::finite(op, name, v);
}

/// The flat index (row · cols + col) of the first NaN/Inf of `v`, or -1 when every element is
/// finite (the CUDA overload scans on the device and reads one index back).
template <class T>
Index first_non_finite(const EmbeddingView<T, cpu>& v,
                       OpScratch<std::remove_const_t<T>, cpu>& /*scratch*/) {
  for (Index i = 0; i < v.rows(); ++i) {
    const T* row = v.data() + i * v.row_stride();
    for (Index j = 0; j < v.cols(); ++j)
      if (!std::isfinite(row[j])) return i * v.cols() + j;
  }
  return -1;
}

/// target = To(double(source) · scale) element by element (same shapes): the converting copy of
/// buffers that sum in double whatever the element type (dist::average_gradients).
template <class From, class To>
void convert_into(EmbeddingView<const From, cpu> source, EmbeddingView<To, cpu> target,
                  double scale = 1.0, const Execution<cpu>& = {}) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "convert_into: target has shape ", target.shape(), ", source ", source.shape());
  for (Index i = 0; i < source.rows(); ++i) {
    const From* in = source.data() + i * source.row_stride();
    To* out = target.data() + i * target.row_stride();
    for (Index j = 0; j < source.cols(); ++j) out[j] = To(double(in[j]) * scale);
  }
}

/// target = source between host memory and a view of the backend (same shapes): a copy here, an
/// upload (copy_from_host) or a download that returns once the data is on the host
/// (copy_to_host) on CUDA. For staging a backend's data through a host-memory transport.
template <class Scalar>
void copy_from_host(EmbeddingView<const Scalar, cpu> source, EmbeddingView<Scalar, cpu> target,
                    const Execution<cpu>& = {}) {
  copy_into(source, target);
}
template <class Scalar>
void copy_to_host(EmbeddingView<const Scalar, cpu> source, EmbeddingView<Scalar, cpu> target,
                  const Execution<cpu>& = {}) {
  copy_into(source, target);
}

/// Checks that a view points to memory of its backend: nothing to check for host views; the
/// CUDA overload rejects host pointers and extents beyond 32-bit indices.
template <class T>
void require_backend_memory(const char* /*op*/, const char* /*name*/,
                            const EmbeddingView<T, cpu>& /*v*/) {}

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

/// Zeroes every element, keeping the shape, as a checkpoint restore does (a gradient after a
/// load; synchronous with the whole device on CUDA, like restore_from_host).
template <class Scalar>
void restore_zeros(RowMatrix<Scalar>& matrix) {
  matrix.setZero();
}

/// Zeroes every element, keeping the shape.
template <class Scalar>
void zero_elements(RowMatrix<Scalar>& matrix, const Execution<cpu>& = {}) {
  matrix.setZero();
}

}  // namespace ccl
