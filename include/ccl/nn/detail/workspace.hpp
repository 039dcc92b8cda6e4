#pragma once
// Workspace<Scalar>: scratch memory that only grows, viewed as a row-major matrix of any shape
// that fits. The im2col buffer of a convolution is tens of megabytes and the last chunk of a batch
// is usually smaller than the others: a plain RowMatrix::resize would free and reallocate it (and
// fault its pages in again) on every call.

#include <ccl/core/types.hpp>

#include <Eigen/Core>

namespace ccl::nn::detail {

template <class Scalar>
class Workspace {
 public:
  using MatrixMap = Eigen::Map<RowMatrix<Scalar>, Eigen::Aligned16>;

  /// A rows x cols view of the buffer (contents unspecified), growing it when needed.
  MatrixMap matrix(Index rows, Index cols) {
    if (storage_.size() < rows * cols) storage_.resize(rows * cols);
    return MatrixMap(storage_.data(), rows, cols);
  }

  Index capacity() const { return storage_.size(); }

 private:
  Vector<Scalar> storage_;
};

}  // namespace ccl::nn::detail
