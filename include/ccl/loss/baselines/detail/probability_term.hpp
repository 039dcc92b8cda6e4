#pragma once
// One divergence term between the conditional-probability matrices of the two sides
// (probability_kernels.hpp), the arithmetic PKT (method.md §8.3) and IFD (§8.7) share:
//
//   pkt:  L = (1/B²) Σ_ij P^t_ij log((P^t_ij + eps) / (P^s_ij + eps))
//   ifd:  L = (1/B²) Σ_ij (P^t_ij - P^s_ij)(log P^t_ij - log P^s_ij),  P clamped to the smallest
//         normal number inside the logs and ratios
//
// ProbabilityTerm<Scalar, Backend> is the engine the two losses (written once for both backends)
// call: the host version here, the device one (cuBLAS Gram matrices and row kernels) the
// specialisation in <ccl/cuda/loss/baselines/detail/probabilities.hpp>.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/baselines/detail/probability_kernels.hpp>

#include <limits>
#include <type_traits>

namespace ccl::loss::baselines::detail {

enum class ProbabilityLoss { pkt, ifd };

template <class Scalar, class Backend>
class ProbabilityTerm {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::loss::baselines::Pkt/Ifd<Scalar, ccl::cuda> need "
                "<ccl/cuda/loss/baselines/pkt.hpp> / ifd.hpp; include them (or <ccl/cuda.hpp>)");

 public:
  /// Returns the term (double) and adds weight · its gradients into the non-empty views.
  double operator()(ProbabilityLoss loss, Kernel kernel, Scalar eps,
                    const EmbeddingView<const Scalar>& student,
                    const EmbeddingView<const Scalar>& teacher, Scalar weight,
                    const EmbeddingView<Scalar>& grad_student,
                    const EmbeddingView<Scalar>& grad_teacher, Workspace<cpu>& /*workspace*/) {
    const Index b = student.rows();
    const Scalar inv_b2 = Scalar(1) / Scalar(b * b);
    s_.forward(student, kernel, eps);
    t_.forward(teacher, kernel, eps);
    if (loss == ProbabilityLoss::pkt) {
      const auto ps = s_.p().array();
      const auto pt = t_.p().array();
      log_ratio_ = ((pt + eps) / (ps + eps)).log().matrix();
      const double value = double((pt * log_ratio_.array()).sum()) * double(inv_b2);
      if (grad_student.data() != nullptr) {
        grad_p_ = (-inv_b2 * pt / (ps + eps)).matrix();
        s_.backward(student, grad_p_, weight, grad_student);
      }
      if (grad_teacher.data() != nullptr) {
        grad_p_ = (inv_b2 * (log_ratio_.array() + pt / (pt + eps))).matrix();
        t_.backward(teacher, grad_p_, weight, grad_teacher);
      }
      return value;
    }
    constexpr Scalar tiny = std::numeric_limits<Scalar>::min();
    const auto ps = s_.p().array().max(tiny);
    const auto pt = t_.p().array().max(tiny);
    log_ratio_ = (pt.log() - ps.log()).matrix();  // log P^t - log P^s
    const double value = double(((pt - ps) * log_ratio_.array()).sum()) * double(inv_b2);
    // d/dP^s of (P^t - P^s)(log P^t - log P^s) = -(log P^t - log P^s) - (P^t - P^s)/P^s, and the
    // mirror image for P^t.
    if (grad_student.data() != nullptr) {
      grad_p_ = (inv_b2 * (-log_ratio_.array() + Scalar(1) - pt / ps)).matrix();
      s_.backward(student, grad_p_, weight, grad_student);
    }
    if (grad_teacher.data() != nullptr) {
      grad_p_ = (inv_b2 * (log_ratio_.array() + Scalar(1) - ps / pt)).matrix();
      t_.backward(teacher, grad_p_, weight, grad_teacher);
    }
    return value;
  }

 private:
  ConditionalProbabilities<Scalar> s_, t_;
  RowMatrix<Scalar> log_ratio_, grad_p_;
};

}  // namespace ccl::loss::baselines::detail
