#pragma once
// Row-wise log-softmax and the argument checks shared by the losses on class logits
// (CrossEntropy, SymmetricKl, HintonKd). Logits are a row-major [B, C] batch viewed by the same
// EmbeddingView as embeddings; C plays the role of D.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <cmath>

namespace ccl::loss::detail {

/// log_p = log softmax(scale · x) and p = exp(log_p) for one row, by log-sum-exp: the largest
/// logit is subtracted first, so exp never overflows and log_p is finite for every finite x.
template <class Scalar, class Row>
void log_softmax_row(const Row& x, Scalar scale, Eigen::Array<Scalar, 1, Eigen::Dynamic>& log_p,
                     Eigen::Array<Scalar, 1, Eigen::Dynamic>& p) {
  log_p = x.array() * scale;
  const Scalar max = log_p.maxCoeff();
  log_p -= max;
  const Scalar log_z = std::log(log_p.exp().sum());
  log_p -= log_z;
  p = log_p.exp();
}

/// Logits must hold at least one row and one class (messages name the op and the argument).
template <class T>
void check_logits(const char* op, const char* name, const EmbeddingView<T>& logits) {
  require(logits.rows() > 0, op, ": empty batch (", name, " has shape ", logits.shape(), ")");
  require(logits.cols() > 0, op, ": ", name, " has no classes (shape ", logits.shape(), ")");
}

}  // namespace ccl::loss::detail
