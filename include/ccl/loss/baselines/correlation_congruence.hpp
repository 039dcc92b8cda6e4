#pragma once
// COR in Table 1: Correlation Congruence (Peng et al., ICCV 2019; method.md §8.4) in the form of
// RepDistiller's `Correlation` (code supplied to RepDistiller by the CC authors):
//
//   Δ = |e_s - e_t| (element-wise),   L = (1/(B-1)) Σ_{i=1..B-1} Σ_d Δ_{i,d} Δ_{i+1,d},
//
// on embeddings e_s = E_s f_s, e_t = E_t f_t produced by two trainable LinearEmbed heads
// (Linear(d → 128), no normalisation). The heads belong to the caller (ccl::nn::Linear, or
// WithEmbedHeads in <ccl/loss/baselines/embed_heads.hpp>); this policy takes the embeddings.
// Note the batch-order dependence: only consecutive rows interact, so shuffle the training set.
// This is not the paper's kernel-correlation matrix between all pairs; RepDistiller's form is the
// one common reproductions use. β = 0.02 (default_beta). B = 1 has no consecutive pair: L = 0 with
// zero gradient (the reference's mean over an empty set is NaN). d|x|/dx at x = 0 is taken as 0,
// as PyTorch does.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <type_traits>

namespace ccl::loss::baselines {

struct CorrelationCongruenceOptions {
  bool check_finite = true;
};

namespace detail {

/// COR's arithmetic on one backend (the host version; the device one, a row kernel, is the
/// specialisation in <ccl/cuda/loss/baselines/correlation_congruence.hpp>). Returns L, adds
/// weight · dL/de.
template <class Scalar, class Backend>
class CorrelationRows {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::loss::baselines::CorrelationCongruence<Scalar, ccl::cuda> needs "
                "<ccl/cuda/loss/baselines/correlation_congruence.hpp>; include it (or "
                "<ccl/cuda.hpp>)");

 public:
  Scalar operator()(const EmbeddingView<const Scalar>& student,
                    const EmbeddingView<const Scalar>& teacher, Scalar weight,
                    const EmbeddingView<Scalar>& grad_student,
                    const EmbeddingView<Scalar>& grad_teacher, Workspace<cpu>& /*workspace*/) {
    const Index b = student.rows();
    if (b < 2) return Scalar(0);
    diff_ = student.matrix() - teacher.matrix();
    const auto delta = diff_.array().abs();
    const double value =
        double((delta.topRows(b - 1) * delta.bottomRows(b - 1)).sum()) / double(b - 1);
    if (grad_student.data() == nullptr && grad_teacher.data() == nullptr) return Scalar(value);
    // dL/dΔ_i = (Δ_{i-1} + Δ_{i+1}) / (B - 1), the missing neighbour of the end rows being 0.
    grad_.setZero(b, student.cols());
    grad_.topRows(b - 1) += delta.bottomRows(b - 1).matrix();
    grad_.bottomRows(b - 1) += delta.topRows(b - 1).matrix();
    grad_ = (grad_.array() * diff_.array().sign() * (weight / Scalar(b - 1))).matrix();
    if (grad_student.data() != nullptr) grad_student.matrix() += grad_;
    if (grad_teacher.data() != nullptr) grad_teacher.matrix() -= grad_;
    return Scalar(value);
  }

 private:
  RowMatrix<Scalar> diff_, grad_;
};

}  // namespace detail

template <class Scalar, class Backend = cpu>
class CorrelationCongruence
    : public PairLossInterface<CorrelationCongruence<Scalar, Backend>, Scalar>,
      public detail::PairBaseline<CorrelationCongruenceOptions, Backend> {
  using Base = detail::PairBaseline<CorrelationCongruenceOptions, Backend>;
  using Base::options_;
  using Base::workspace_;

  static_assert(
      is_backend_v<Backend>,
      "ccl::loss::baselines::CorrelationCongruence: Backend must be ccl::cpu or ccl::cuda (for "
      "ccl::cuda include <ccl/cuda/loss/baselines/correlation_congruence.hpp> or <ccl/cuda.hpp>)");
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::CorrelationCongruence: the scalar type must be float or "
                "double");

 public:
  using Options = CorrelationCongruenceOptions;
  static constexpr double default_beta = 0.02;

  using Base::Base;

  /// Returns L(e_s, e_t) and adds weight · dL/de into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "correlation_congruence";
    this->begin_call(op, student, teacher, grad_student, grad_teacher, detail::Widths::must_match);
    return rows_(student, teacher, weight, grad_student, grad_teacher, workspace_);
  }

 private:
  detail::CorrelationRows<Scalar, Backend> rows_;
};

}  // namespace ccl::loss::baselines
