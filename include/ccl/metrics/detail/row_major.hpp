#pragma once
// Metrics accept any Eigen matrix. A row-major one with direct storage is viewed where it is; any
// other (Eigen::MatrixXd, an expression) is copied once into a RowMatrix. Metrics are O(N·D)
// next to the O(N·D) or O(N²·D) work they do, so the copy never matters.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>

#include <type_traits>

namespace ccl::metrics::detail {

template <class M>
class RowMajorCopy {
  using Plain = std::decay_t<M>;
  using Scalar = typename Plain::Scalar;
  static constexpr bool viewable = bool(Plain::Flags & Eigen::DirectAccessBit) &&
                                   (bool(Plain::Flags & Eigen::RowMajorBit) ||
                                    Plain::ColsAtCompileTime == 1);

 public:
  explicit RowMajorCopy(const M& matrix) : matrix_(matrix) {
    if constexpr (!viewable) copy_ = matrix;
  }

  EmbeddingView<const Scalar> view() const {
    if constexpr (viewable)
      return ccl::view(matrix_);
    else
      return ccl::view(copy_);
  }

 private:
  const M& matrix_;
  RowMatrix<Scalar> copy_;
};

}  // namespace ccl::metrics::detail
