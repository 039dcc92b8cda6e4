#pragma once
// Row-wise log-softmax and the argument checks shared by the losses on class logits
// (CrossEntropy, SymmetricKl, HintonKd). Logits are a row-major [B, C] batch viewed by the same
// EmbeddingView as embeddings; C plays the role of D.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <cmath>
#include <string>

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
template <class T, class Backend>
void check_logits(const char* op, const char* name, const EmbeddingView<T, Backend>& logits) {
  require(logits.rows() > 0, op, ": empty batch (", name, " has shape ", logits.shape(), ")");
  require(logits.cols() > 0, op, ": ", name, " has no classes (shape ", logits.shape(), ")");
}

/// The argument checks of a loss on two logit matrices of one shape (KD, the symmetric KL), the
/// same on every backend: shapes, then the backend's memory (device pointers and 32-bit extents
/// on CUDA; nothing on the CPU), then NaN/Inf when asked. check_finite and
/// require_backend_memory are the ops of core/backend_matrix.hpp (the CUDA overloads are found by
/// argument-dependent lookup).
template <class Scalar, class Backend>
void check_logit_pair(const char* op, const char* name_a, const char* name_b,
                      const EmbeddingView<const Scalar, Backend>& a,
                      const EmbeddingView<const Scalar, Backend>& b,
                      const EmbeddingView<Scalar, Backend>& grad_a,
                      const EmbeddingView<Scalar, Backend>& grad_b, bool scan_finite,
                      OpScratch<Scalar, Backend>& scratch) {
  check_logits(op, name_a, a);
  checks::same_shape(op, name_a, a, name_b, b);
  const std::string grad_name_a = std::string("grad_") + name_a;
  const std::string grad_name_b = std::string("grad_") + name_b;
  checks::gradient_shape(op, name_a, a, grad_name_a.c_str(), grad_a);
  checks::gradient_shape(op, name_b, b, grad_name_b.c_str(), grad_b);
  require_backend_memory(op, name_a, a);
  require_backend_memory(op, name_b, b);
  require_backend_memory(op, grad_name_a.c_str(), grad_a);
  require_backend_memory(op, grad_name_b.c_str(), grad_b);
  if (scan_finite) {
    check_finite(op, name_a, a, scratch);
    check_finite(op, name_b, b, scratch);
  }
}

}  // namespace ccl::loss::detail
