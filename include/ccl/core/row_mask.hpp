#pragma once
// Missing teacher rows (method.md §2.5). A video without an audio track gets an all-zero teacher
// embedding, and the official code removes such rows from *every* term of that teacher's branch
// (composition, contrastive terms, JSD, the composition's cross-entropy) while they still count
// for the student's own cross-entropy and for the other teachers' branches. Zeroing their loss
// would not be the same thing: contrastive losses couple rows, so a missing row would still act
// as a negative for every other row. The branch therefore runs on a compact batch:
//
//   const std::vector<Index> rows = available_rows(x_a);          // teacher rows not all zero
//   if (rows.empty()) { /* skip the branch: no term is defined */ }
//   RowMatrix<float> a = gather_rows(x_a, rows), v = gather_rows(x_v, rows);
//   std::vector<std::int64_t> y = gather_labels(labels, rows);
//   ... composition + losses on (a, v, y), gradients into a compact grad_v ...
//   scatter_add_rows(view(grad_v), rows, mutable_view(grad_x_v));  // missing rows get nothing
//
// When nothing is missing (rows.size() == B) the gather can be skipped and the full views used.
// Row indices are strictly increasing, so the compact batch keeps the original order.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <cstdint>
#include <vector>

namespace ccl {

/// Indices of the rows of x that are not all zero, in increasing order. The official code tests
/// `row.sum() != 0`, which is the same for PANNs embeddings (taken after a ReLU, so >= 0); testing
/// every entry also handles signed features whose entries happen to cancel. A NaN entry counts
/// as present, so the branch's own finiteness checks report it instead of hiding it.
template <class T>
std::vector<Index> available_rows(const EmbeddingView<T, cpu>& x, const Execution<cpu>& = {}) {
  std::vector<Index> rows;
  rows.reserve(static_cast<std::size_t>(x.rows()));
  for (Index i = 0; i < x.rows(); ++i) {
    const T* row = x.data() + i * x.row_stride();
    for (Index j = 0; j < x.cols(); ++j) {
      if (!(row[j] == 0)) {
        rows.push_back(i);
        break;
      }
    }
  }
  return rows;
}

template <class M, class = std::enable_if_t<detail::is_eigen_dense_v<M>>>
std::vector<Index> available_rows(const M& x) {
  return available_rows(view(x));
}

namespace detail {
inline void check_row_indices(const char* op, const std::vector<Index>& rows, Index batch) {
  for (std::size_t k = 0; k < rows.size(); ++k) {
    require(rows[k] >= 0 && rows[k] < batch, op, ": row index ", rows[k], " (entry ", k,
            ") is outside a batch of ", batch);
  }
}
}  // namespace detail

/// target[k] = source[rows[k]]; target must be [rows.size(), source.cols()].
template <class T>
void gather_rows(EmbeddingView<const T> source, const std::vector<Index>& rows,
                 EmbeddingView<T> target, const Execution<cpu>& = {}) {
  constexpr const char* op = "gather_rows";
  detail::check_row_indices(op, rows, source.rows());
  require(target.rows() == Index(rows.size()) && target.cols() == source.cols(), op,
          ": target has shape ", target.shape(), ", expected [", rows.size(), ", ", source.cols(),
          "]");
  auto out = target.matrix();
  const auto in = source.matrix();
  for (std::size_t k = 0; k < rows.size(); ++k) out.row(Index(k)) = in.row(rows[k]);
}

/// The rows of source listed in `rows`, as a new [rows.size(), D] matrix.
template <class T>
RowMatrix<T> gather_rows(EmbeddingView<const T> source, const std::vector<Index>& rows) {
  RowMatrix<T> out(Index(rows.size()), source.cols());
  gather_rows(source, rows, mutable_view(out));
  return out;
}

template <class M, class = std::enable_if_t<detail::is_eigen_dense_v<M>>>
RowMatrix<typename M::Scalar> gather_rows(const M& source, const std::vector<Index>& rows) {
  return gather_rows(view(source), rows);
}

/// target[rows[k]] += compact[k]: the adjoint of gather_rows, so rows not listed receive no
/// gradient. Indices must be distinct (as available_rows returns them).
template <class T>
void scatter_add_rows(EmbeddingView<const T> compact, const std::vector<Index>& rows,
                      EmbeddingView<T> target, const Execution<cpu>& = {}) {
  constexpr const char* op = "scatter_add_rows";
  detail::check_row_indices(op, rows, target.rows());
  require(compact.rows() == Index(rows.size()) && compact.cols() == target.cols(), op,
          ": compact has shape ", compact.shape(), ", expected [", rows.size(), ", ", target.cols(),
          "] (one row per index, target's width)");
  auto out = target.matrix();
  const auto in = compact.matrix();
  for (std::size_t k = 0; k < rows.size(); ++k) out.row(rows[k]) += in.row(Index(k));
}

/// labels[rows[k]] for every k, as 64-bit labels (a LabelView converts from the vector).
inline std::vector<std::int64_t> gather_labels(const LabelView& labels,
                                               const std::vector<Index>& rows) {
  detail::check_row_indices("gather_labels", rows, labels.size());
  std::vector<std::int64_t> out;
  out.reserve(rows.size());
  for (Index r : rows) out.push_back(labels[r]);
  return out;
}

}  // namespace ccl
