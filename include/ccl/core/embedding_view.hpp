#pragma once
// EmbeddingView<T, Backend>: a non-owning view of a row-major [B, D] batch of embeddings.
//
// Why a view type and not Eigen::Ref: Eigen::Ref<const M> silently copies a column-major or
// strided argument into a temporary, which hides an O(B*D) copy on every loss call and would make
// "zero copy" a promise we cannot keep. EmbeddingView refuses such arguments at compile time with
// a message that says what to pass instead, accepts Eigen matrices, Maps and row blocks of them,
// and also wraps raw pointers, including device pointers when Backend is ccl::cuda.
// `T` carries the constness: EmbeddingView<const float> reads, EmbeddingView<float> writes.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <string>
#include <type_traits>
#include <utility>

namespace ccl {

namespace detail {
template <class M>
inline constexpr bool is_eigen_dense_v =
    std::is_base_of_v<Eigen::DenseBase<std::decay_t<M>>, std::decay_t<M>>;
}  // namespace detail

template <class T, class Backend = cpu>
class EmbeddingView {
 public:
  using Scalar = std::remove_const_t<T>;
  using MatrixMap =
      Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMatrix<Scalar>, RowMatrix<Scalar>>,
                 Eigen::Unaligned, Eigen::OuterStride<>>;

  static_assert(is_supported_scalar_v<Scalar>,
                "ccl: the scalar type must be float (training) or double (gradient checks)");
  static_assert(is_backend_v<Backend>, "ccl: Backend must be ccl::cpu or ccl::cuda");

  /// An empty view (no rows, no columns); used for "gradient not requested".
  EmbeddingView() = default;

  /// Wraps `rows` x `cols` elements at `data`, consecutive rows `row_stride` elements apart.
  EmbeddingView(T* data, Index rows, Index cols, Index row_stride = -1)
      : data_(data), rows_(rows), cols_(cols), row_stride_(row_stride < 0 ? cols : row_stride) {
    require(rows >= 0 && cols >= 0, "EmbeddingView: negative shape [", rows, ", ", cols, "]");
    require(row_stride_ >= cols, "EmbeddingView: row stride ", row_stride_,
            " is smaller than the row length ", cols);
    require(data != nullptr || rows * cols == 0, "EmbeddingView: null data for shape [", rows, ", ",
            cols, "]");
  }

  /// Views an Eigen matrix, Map, Ref or row block without copying.
  template <class M, class = std::enable_if_t<detail::is_eigen_dense_v<M>>>
  EmbeddingView(M&& matrix)  // NOLINT(google-explicit-constructor): views convert implicitly
      : EmbeddingView(data_of(matrix), matrix.rows(), matrix.cols(), row_stride_of(matrix)) {
    using Plain = std::decay_t<M>;
    static_assert(std::is_same_v<typename Plain::Scalar, Scalar>,
                  "ccl: the Eigen matrix's scalar type differs from the view's (float vs double?)");
    static_assert(std::is_same_v<Backend, cpu>,
                  "ccl: Eigen matrices live in host memory; view them as EmbeddingView<T, cpu>");
    static_assert(bool(Plain::Flags & Eigen::DirectAccessBit),
                  "ccl: embeddings must be stored in memory; evaluate the Eigen expression into "
                  "a ccl::RowMatrix first");
    static_assert(bool(Plain::Flags & Eigen::RowMajorBit) || Plain::ColsAtCompileTime == 1,
                  "ccl: embeddings must be row-major [B, D] (ccl::RowMatrix<T> or "
                  "Eigen::Matrix<T, Dynamic, Dynamic, RowMajor>); a column-major matrix would "
                  "need a copy");
    static_assert(
        std::is_const_v<T> || !std::is_const_v<std::remove_reference_t<decltype(*matrix.data())>>,
        "ccl: cannot write gradients through a view of a const matrix");
  }

  /// Conversion from a mutable view to a read-only one.
  template <class U, class = std::enable_if_t<std::is_const_v<T> &&
                                              std::is_same_v<U, std::remove_const_t<T>>>>
  EmbeddingView(EmbeddingView<U, Backend> other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()),
        rows_(other.rows()),
        cols_(other.cols()),
        row_stride_(other.row_stride()) {}

  T* data() const { return data_; }
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  Index row_stride() const { return row_stride_; }
  bool empty() const { return rows_ == 0 || cols_ == 0; }
  std::string shape() const { return detail::concat("[", rows_, ", ", cols_, "]"); }

  /// Rows [first, first + count) as a view of the same memory.
  EmbeddingView middle_rows(Index first, Index count) const {
    return EmbeddingView(data_ + first * row_stride_, count, cols_, row_stride_);
  }

  /// Columns [first, first + count) as a view of the same memory (strided rows).
  EmbeddingView middle_cols(Index first, Index count) const {
    require(first >= 0 && count >= 0 && first + count <= cols_, "EmbeddingView: columns [", first,
            ", ", first + count, ") of a view of shape ", shape());
    return EmbeddingView(data_ + first, rows_, count, row_stride_);
  }

  /// Whether the rows follow each other without gaps (one block of rows·cols elements).
  bool contiguous() const { return row_stride_ == cols_ || rows_ <= 1; }

  /// The Eigen view of the same memory (host backend only).
  MatrixMap matrix() const {
    static_assert(std::is_same_v<Backend, cpu>,
                  "ccl: only host (ccl::cpu) embeddings can be used as an Eigen matrix");
    return MatrixMap(data_, rows_, cols_, Eigen::OuterStride<>(row_stride_));
  }

 private:
  template <class M>
  static T* data_of(M& matrix) {
    return const_cast<T*>(static_cast<const Scalar*>(matrix.data()));
  }
  template <class M>
  static Index row_stride_of(const M& matrix) {
    using Plain = std::decay_t<M>;
    if constexpr (bool(Plain::Flags & Eigen::RowMajorBit)) {
      require(matrix.innerStride() == 1,
              "EmbeddingView: the elements of a row must be contiguous"
              " (inner stride ",
              matrix.innerStride(), ")");
      return matrix.outerStride();
    } else {
      return matrix.innerStride();  // a single column: one element per row
    }
  }

  T* data_ = nullptr;
  Index rows_ = 0;
  Index cols_ = 0;
  Index row_stride_ = 0;
};

/// Deduces a read-only view: `ccl::view(matrix)`.
template <class M, class = std::enable_if_t<detail::is_eigen_dense_v<M>>>
auto view(const M& matrix) {
  return EmbeddingView<const typename std::decay_t<M>::Scalar>(matrix);
}

/// Deduces a writable view: `ccl::mutable_view(gradient)`.
template <class M, class = std::enable_if_t<detail::is_eigen_dense_v<M>>>
auto mutable_view(M&& matrix) {
  return EmbeddingView<typename std::decay_t<M>::Scalar>(std::forward<M>(matrix));
}

}  // namespace ccl
