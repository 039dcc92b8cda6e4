#pragma once
// Multi-class (label-aware) NCE, the contrastive loss CCL actually trains with (method.md §4.3):
//
//   p_ij = softmax_j(cos(f_i, g_j) / τ)              over all B columns
//   ℓ_i  = -(1/|P(i)|) Σ_{j∈P(i)} log p_ij - (1/|N(i)|) Σ_{j∈N(i)} log(1 - p_ij)
//   L    = (1/B) Σ_i ℓ_i,   P(i) = {j : y_j = y_i} (j = i included),  N(i) = the rest.
//
// Anchors are rows of the first argument, so L(f, g) != L(g, f); see Symmetric for the official
// code's two-direction sum. Numerics::official adds the code's 1e-10 inside both logs; the
// default Numerics::stable evaluates log p by log-sum-exp and log(1 - p) by log1p, or, for the one
// column that may hold p > 1/2, from the sum of the other columns, so the loss and its gradient
// stay finite for every finite input and every τ. A row without negatives (one class in the
// batch, or B = 1) follows ContrastiveOptions::empty_negatives; the official code returns NaN.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/contrastive_engine.hpp>
#include <ccl/loss/detail/label_groups.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ccl::loss {

namespace detail {

/// ℓ_i and dℓ_i/ds_i· of multi-class NCE for one row of logits s_i· = cos / τ.
template <class Scalar>
class MultiClassNceRows {
 public:
  using Row = Eigen::Ref<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
  using Array = Eigen::Array<Scalar, 1, Eigen::Dynamic>;

  void prepare(const char* op, const LabelView& labels, Index batch,
               const ContrastiveOptions& options) {
    checks::labels_match(op, batch, labels);
    groups_.assign(labels);
    numerics_ = options.numerics;
    if (options.empty_negatives == EmptyNegatives::raise && groups_.classes() == 1) {
      throw error(ccl::detail::concat(op, ": every row of the batch has label ", labels[0],
                                 ", so no row has a negative (empty_negatives = raise)"));
    }
    positive_.resize(batch);
  }

  double row(Row s, Index i) {
    const Index batch = s.cols();
    const auto& ids = groups_.ids();
    positive_ = (ids.transpose() == ids[i]).template cast<Scalar>();
    const Scalar n_pos = Scalar(groups_.positives(i));
    const Scalar n_neg = Scalar(batch) - n_pos;
    return numerics_ == Numerics::official ? official(s, n_pos, n_neg)
                                           : stable(s, n_pos, n_neg);
  }

 private:
  // log(p + 1e-10) and log(1 - p + 1e-10), exactly as the official code writes them.
  double official(Row s, Scalar n_pos, Scalar n_neg) {
    constexpr Scalar eps = Scalar(1e-10);
    auto a = s.array();
    p_ = (a - a.maxCoeff()).exp();
    p_ /= p_.sum();
    double loss = -double((positive_ * (p_ + eps).log()).sum()) / double(n_pos);
    coeff_ = -positive_ / (n_pos * (p_ + eps));
    if (n_neg > 0) {
      loss -= double(((1 - positive_) * (1 - p_ + eps).log()).sum()) / double(n_neg);
      coeff_ += (1 - positive_) / (n_neg * (1 - p_ + eps));
    }
    // dℓ/ds_k = p_k (c_k - Σ_j c_j p_j): the softmax Jacobian applied to dℓ/dp.
    a = p_ * (coeff_ - (coeff_ * p_).sum());
    return loss;
  }

  double stable(Row s, Scalar n_pos, Scalar n_neg) {
    auto a = s.array();
    Index top = 0;
    const Scalar max = a.maxCoeff(&top);
    p_ = (a - max).exp();
    const Scalar z = p_.sum();
    log_p_ = a - (max + std::log(z));
    p_ /= z;
    double loss = -double((positive_ * log_p_).sum()) / double(n_pos);
    // From here on the logits live in log_p_ and `a` receives the gradient. The positive term's
    // gradient is p - 1[j∈P]/|P| (the softmax Jacobian applied to a mean of log p).
    a = p_ - positive_ / n_pos;
    if (n_neg == 0) return loss;

    // log(1 - p_j) = log1p(-p_j) is accurate while p_j <= 1/2, which holds for every column but
    // possibly the arg-max. For that one, 1 - p_top = Σ_{k≠top} p_k, summed in log space.
    log1m_p_ = (-p_).log1p();
    const Scalar p_top = p_[top];
    const bool dominant = p_top > Scalar(0.5);
    const Scalar log_rest = dominant ? log_sum_exp_without(log_p_, top) : Scalar(0);
    if (dominant) log1m_p_[top] = log_rest;
    negative_ = 1 - positive_;
    loss -= double((negative_ * log1m_p_).sum()) / double(n_neg);

    // Negative term: dℓ/ds_k = (1/|N|) [1[k∈N] r_k - p_k Σ_{j∈N} r_j], r = p / (1 - p).
    ratio_ = p_ / (1 - p_);
    if (dominant) ratio_[top] = 0;  // may be inf; a positive top column needs no ratio at all
    if (!dominant || positive_[top] > 0) {
      const Scalar r_sum = (negative_ * ratio_).sum();
      a += (negative_ * ratio_ - p_ * r_sum) / n_neg;
      return loss;
    }
    // A dominant negative column: r_top = p_top / (1 - p_top) may overflow, but it cancels.
    // With q_k = p_k / (1 - p_top), p_k r_top = p_top q_k, and the top column's own term is
    // r_top (1 - p_top) - p_top R' = p_top (1 - R'), R' being the ratio sum of the other negatives.
    const Scalar r_rest = (negative_ * ratio_).sum();
    q_ = (log_p_ - log_rest).exp();
    q_[top] = 0;  // its own term is set below
    a += (negative_ * ratio_ - p_ * r_rest - p_top * q_) / n_neg;
    a[top] = p_top + p_top * (1 - r_rest) / n_neg;
    return loss;
  }

  // log Σ_{k≠top} exp(x_k), shifted by the largest remaining term so it cannot underflow.
  static Scalar log_sum_exp_without(const Array& x, Index top) {
    Scalar second = -std::numeric_limits<Scalar>::infinity();
    for (Index k = 0; k < x.cols(); ++k) {
      if (k != top) second = std::max(second, x[k]);
    }
    Scalar sum = 0;
    for (Index k = 0; k < x.cols(); ++k) {
      if (k != top) sum += std::exp(x[k] - second);
    }
    return second + std::log(sum);
  }

  LabelGroups groups_;
  Numerics numerics_ = Numerics::stable;
  Array positive_, negative_, p_, log_p_, log1m_p_, ratio_, coeff_, q_;
};

}  // namespace detail

/// Multi-class NCE as a pair-loss policy: `MultiClassNce<float> nce(/*temperature=*/0.5);`
template <class Scalar, class Backend = cpu>
class MultiClassNce : public PairLossInterface<MultiClassNce<Scalar, Backend>, Scalar> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::MultiClassNce: the scalar type must be float or double");

 public:
  using Options = ContrastiveOptions;

  MultiClassNce() = default;
  explicit MultiClassNce(Options options) : options_(options) {}
  /// Default options with temperature τ.
  explicit MultiClassNce(double temperature) { options_.temperature = temperature; }

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  Scalar accumulate(EmbeddingView<const Scalar, Backend> f, EmbeddingView<const Scalar, Backend> g,
                    LabelView labels, Scalar weight, EmbeddingView<Scalar, Backend> grad_f,
                    EmbeddingView<Scalar, Backend> grad_g) {
    return engine_.run("multiclass_nce", f, g, labels, options_, weight, grad_f, grad_g);
  }

 private:
  Options options_;
  Implementation<ops::RowSoftmaxContrastive<Scalar, detail::MultiClassNceRows<Scalar>>, Backend>
      engine_;
};

}  // namespace ccl::loss
