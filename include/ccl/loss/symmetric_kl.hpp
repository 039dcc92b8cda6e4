#pragma once
// SymmetricKl: the divergence the official CCL code calls "JSD" (`JSDLoss(weight = 0.5)`,
// method.md §4.4), which aligns the student's class posterior with a composition head's:
//
//   p = softmax(z1), q = softmax(z2)   (row-wise, no temperature)
//   L = w · (1/B) Σ_i Σ_c [ p_ic log(p_ic/q_ic + ε) + q_ic log(q_ic/p_ic + ε) ],   w = 0.5, ε =
//   1e-10.
//
// Despite the official name this is NOT the Jensen–Shannon divergence (which compares p and q
// with their mixture ½(p + q)): it is w · (KL(p‖q) + KL(q‖p)), i.e. with w = ½ half the Jeffreys
// (symmetric Kullback–Leibler) divergence. Hence the honest class name. It is symmetric in its
// arguments, zero iff the rows' softmaxes agree, and the gradient flows into both arguments.
//
// Numerics (the same switch as the contrastive losses, contrastive_options.hpp):
//   Numerics::stable   (default) w · Σ (p - q)(log p - log q) with log p, log q by log-sum-exp:
//                      the exact Jeffreys divergence, finite for every finite logit.
//   Numerics::official the official formula with its ε. Evaluated in log space
//                      (log(p/q + ε) = logaddexp(log p - log q, log ε)), so it never divides by an
//                      underflowed probability; the value is the official one, finite for every
//                      finite logit. The two agree to about 2·w·ε per row (≈ 1e-10).
// Both use the same derivation: with x = log p - log q and ℓ = log ε,
//   dL_row/dz1_k = h_k - p_k Σ_c h_c,  h_c = p_c L(x_c) + p_c σ(x_c - ℓ) - q_c σ(-x_c - ℓ),
//   L(x) = logaddexp(x, ℓ); the stable variant is the limit ℓ → -∞ (L(x) = x, σ = 1), and z2 is
//   the mirror image (x → -x, p ↔ q).
//
// Labels are accepted (so the class satisfies the pair-loss convention of pair_loss.hpp and
// composes with Distill/Symmetric) and ignored.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/log_softmax.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace ccl::loss {

struct SymmetricKlOptions {
  /// The weight w in front of KL(p‖q) + KL(q‖p); the official JSDLoss uses 0.5.
  double weight = 0.5;
  Numerics numerics = Numerics::stable;
  /// Scan both logit matrices for NaN/Inf and throw ccl::error instead of returning NaN.
  bool check_finite = true;
};

namespace ops {
/// Tag of the symmetric KL computation on two [B, C] logit matrices, specialised per backend.
template <class Scalar>
struct SymmetricKl {};
}  // namespace ops

namespace detail {

/// The official code's epsilon inside log(p/q + ε).
inline constexpr double symmetric_kl_epsilon = 1e-10;

/// log(exp(x) + exp(l)) without overflow.
template <class Scalar>
Scalar log_add_exp(Scalar x, Scalar l) {
  const Scalar hi = std::max(x, l);
  return hi + std::log1p(std::exp(-std::abs(x - l)));
}

/// The logistic function 1 / (1 + exp(-t)), evaluated without overflow for either sign of t.
template <class Scalar>
Scalar logistic(Scalar t) {
  if (t >= 0) return Scalar(1) / (Scalar(1) + std::exp(-t));
  const Scalar e = std::exp(t);
  return e / (Scalar(1) + e);
}

}  // namespace detail
}  // namespace ccl::loss

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::SymmetricKl<Scalar>, cpu> {
  using Array = Eigen::Array<Scalar, 1, Eigen::Dynamic>;

  Scalar run(EmbeddingView<const Scalar> z1, EmbeddingView<const Scalar> z2,
             const loss::SymmetricKlOptions& options, Scalar weight, EmbeddingView<Scalar> grad_z1,
             EmbeddingView<Scalar> grad_z2) {
    const bool official = options.numerics == loss::Numerics::official;
    const Scalar log_eps = Scalar(std::log(loss::detail::symmetric_kl_epsilon));
    const Index batch = z1.rows();
    const Index classes = z1.cols();
    const Scalar scale = weight * Scalar(options.weight) / Scalar(batch);
    const bool want_1 = grad_z1.data() != nullptr;
    const bool want_2 = grad_z2.data() != nullptr;
    h1_.resize(classes);
    h2_.resize(classes);

    double total = 0;
    for (Index i = 0; i < batch; ++i) {
      loss::detail::log_softmax_row(z1.matrix().row(i), Scalar(1), log_p_, p_);
      loss::detail::log_softmax_row(z2.matrix().row(i), Scalar(1), log_q_, q_);
      double row = 0;
      for (Index c = 0; c < classes; ++c) {
        const Scalar x = log_p_[c] - log_q_[c];  // log(p/q), finite: no division by q
        Scalar l_pq = x, l_qp = -x, s_pq = 1, s_qp = 1;
        if (official) {
          l_pq = loss::detail::log_add_exp(x, log_eps);   // log(p/q + ε)
          l_qp = loss::detail::log_add_exp(-x, log_eps);  // log(q/p + ε)
          s_pq = loss::detail::logistic(x - log_eps);     // (p/q) / (p/q + ε)
          s_qp = loss::detail::logistic(-x - log_eps);    // (q/p) / (q/p + ε)
        }
        row += double(p_[c] * l_pq + q_[c] * l_qp);
        h1_[c] = p_[c] * l_pq + p_[c] * s_pq - q_[c] * s_qp;
        h2_[c] = q_[c] * l_qp + q_[c] * s_qp - p_[c] * s_pq;
      }
      total += row;
      // The softmax Jacobian: dL/dz_k = h_k - p_k Σ_c h_c.
      if (want_1) grad_z1.matrix().row(i) += scale * (h1_ - p_ * h1_.sum()).matrix();
      if (want_2) grad_z2.matrix().row(i) += scale * (h2_ - q_ * h2_.sum()).matrix();
    }
    return Scalar(options.weight * total / double(batch));
  }

 private:
  Array log_p_, p_, log_q_, q_, h1_, h2_;
};

}  // namespace ccl

namespace ccl::loss {

/// The official "JSD" as a pair-loss policy: `SymmetricKl<float> jsd; jsd(z_v, z_av).value`.
template <class Scalar, class Backend = cpu>
class SymmetricKl : public PairLossInterface<SymmetricKl<Scalar, Backend>, Scalar> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::SymmetricKl: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::loss::SymmetricKl: Backend must be ccl::cpu or ccl::cuda");

 public:
  using Options = SymmetricKlOptions;

  SymmetricKl() = default;
  explicit SymmetricKl(Options options) : options_(options) {}
  /// Default options with weight w.
  explicit SymmetricKl(double weight) { options_.weight = weight; }

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L(z1, z2) and adds weight * dL/dz1, weight * dL/dz2 into the non-empty views.
  /// `labels` is ignored (the divergence is label-free).
  Scalar accumulate(EmbeddingView<const Scalar, Backend> z1,
                    EmbeddingView<const Scalar, Backend> z2, LabelView /*labels*/, Scalar weight,
                    EmbeddingView<Scalar, Backend> grad_z1,
                    EmbeddingView<Scalar, Backend> grad_z2) {
    constexpr const char* op = "symmetric_kl";
    require(std::isfinite(options_.weight) && options_.weight >= 0, op,
            ": weight must be finite and >= 0, got ", options_.weight);
    detail::check_logit_pair(op, "z1", "z2", z1, z2, grad_z1, grad_z2, options_.check_finite,
                             scratch_);
    return impl_.run(z1, z2, options_, weight, grad_z1, grad_z2);
  }

  /// The scans and the backend's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, scratch_, impl_);
  }
  const Execution<Backend>& execution() const { return scratch_.execution; }

 private:
  Options options_;
  OpScratch<Scalar, Backend> scratch_;  // the backend's NaN scan
  Implementation<ops::SymmetricKl<Scalar>, Backend> impl_;
};

}  // namespace ccl::loss
