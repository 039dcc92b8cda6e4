#pragma once
// The row objective of multi-class NCE (method.md §4.3): ℓ_i and dℓ_i/ds_i· for one row of
// logits s_i· = cos / τ, with the numerics documented in <ccl/loss/multiclass_nce.hpp>.
//
// Speed: the row work runs between the engine's GEMMs on all B² logits, so it must cost a small
// fraction of 3·2·D flops per logit. The common rows take four fused passes (max, exp + sum, the
// loss sums, the gradient) through packet_loop.hpp: the positive mask is a vector compare of
// class ids held as Scalars, not a bool array converted per row. Rows the fast path cannot
// represent exactly (a negative column with p > 1/2 under Numerics::stable, NaN logits, more
// classes than the Scalar holds exactly) take the original array-expression path, kept below as
// `general_*`; both evaluate the same formulas.

#include <ccl/core/checks.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/label_groups.hpp>
#include <ccl/loss/detail/packet_loop.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace ccl::loss::detail {

template <class Scalar>
class MultiClassNceRows {
 public:
  using Row = Eigen::Ref<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
  using Array = Eigen::Array<Scalar, 1, Eigen::Dynamic>;

  /// Per-thread work arrays, sized on first use and reused across rows and calls.
  struct Scratch {
    Array e, c;                                                    // fast path
    Array positive, negative, p, log_p, log1m_p, ratio, coeff, q;  // general path
  };

  void prepare(const char* op, const LabelView& labels, Index batch,
               const ContrastiveOptions& options) {
    checks::labels_match(op, batch, labels);
    groups_.assign(labels);
    numerics_ = options.numerics;
    if (options.empty_negatives == EmptyNegatives::raise && groups_.classes() == 1) {
      throw error(ccl::detail::concat(op, ": every row of the batch has label ", labels[0],
                                      ", so no row has a negative (empty_negatives = raise)"));
    }
    // Class ids as Scalars make the positive mask one vector compare; exact while the ids fit
    // the mantissa (2^24 classes for float), beyond that every row takes the general path.
    fast_ = groups_.classes() <= (Index(1) << std::numeric_limits<Scalar>::digits);
    id_values_ = groups_.ids().template cast<Scalar>().transpose();
  }

  /// Overwrites the row of logits s with dℓ_i/ds and returns ℓ_i. Thread-safe for distinct
  /// rows with distinct scratch.
  double row(Row s, Index i, Scratch& w) const {
    const Index batch = s.cols();
    const Scalar n_pos = Scalar(groups_.positives(i));
    const Scalar n_neg = Scalar(batch) - n_pos;
    if (fast_) {
      Index top = 0;
      const Scalar max = row_max(s.data(), batch, top);
      if (top < batch) {
        if (numerics_ == Numerics::official) return fast_official(s, i, max, n_pos, n_neg, w);
        // A dominant column (p > 1/2) needs log(1 - p) from the other columns; only a
        // dominant *negative* column also needs it in the gradient: rare, general path.
        double loss = 0;
        if (fast_stable(s, i, max, top, n_pos, n_neg, w, loss)) return loss;
      }
    }
    w.positive = (groups_.ids().transpose() == groups_.ids()[i]).template cast<Scalar>();
    return numerics_ == Numerics::official ? general_official(s, n_pos, n_neg, w)
                                           : general_stable(s, n_pos, n_neg, w);
  }

 private:
  // Pass 2 of both numerics: e_j = exp(s_j - max) into w.e, returns z = Σ e_j.
  static Scalar exp_and_sum(const Scalar* x, Scalar max, Index n, Scratch& w) {
    namespace ei = Eigen::internal;
    w.e.resize(n);
    Scalar* e = w.e.data();
    return packet_sums<Scalar, 1>(0, n, [&](Index j, auto* acc) {
      using P = std::remove_pointer_t<decltype(acc)>;
      const P v = ei::pexp(ei::psub(ei::ploadu<P>(x + j), ei::pset1<P>(max)));
      ei::pstoreu(e + j, v);
      acc[0] = ei::padd(acc[0], v);
    })[0];
  }

  bool fast_stable(Row s, Index i, Scalar max, Index top, Scalar n_pos, Scalar n_neg, Scratch& w,
                   double& loss) const {
    namespace ei = Eigen::internal;
    const Index n = s.cols();
    Scalar* x = s.data();
    const Scalar z = exp_and_sum(x, max, n, w);
    const Scalar inv_z = Scalar(1) / z;
    const bool dominant = inv_z > Scalar(0.5);  // p_top = e_top / z = 1 / z
    const Scalar* ids = id_values_.data();
    const Scalar id = ids[i];
    if (dominant && ids[top] != id) return false;
    const Scalar lse = max + std::log(z);
    const Scalar* e = w.e.data();
    w.c.resize(n);
    Scalar* r_out = w.c.data();

    // Pass 3: Σ_P log p, Σ_N log1p(-p) and R = Σ_N p/(1-p), keeping the masked ratios for the
    // gradient. Selecting with a bit mask (not multiplying by 0/1) keeps the inf/NaN of a
    // dominant positive column's log1p(-1) and 1/(1-1) out of the sums: they are not used.
    const auto sums = packet_sums<Scalar, 3>(0, n, [&](Index j, auto* acc) {
      using P = std::remove_pointer_t<decltype(acc)>;
      const P positive = ei::pcmp_eq(ei::ploadu<P>(ids + j), ei::pset1<P>(id));
      const P p = ei::pmul(ei::ploadu<P>(e + j), ei::pset1<P>(inv_z));
      const P log_p = ei::psub(ei::ploadu<P>(x + j), ei::pset1<P>(lse));
      const P one_minus_p = ei::psub(ei::pset1<P>(Scalar(1)), p);
      const P ratio = ei::pandnot(ei::pdiv(p, one_minus_p), positive);
      ei::pstoreu(r_out + j, ratio);
      acc[0] = ei::padd(acc[0], ei::pand(log_p, positive));
      acc[1] = ei::padd(acc[1], ei::pandnot(ei::plog1p(ei::pnegate(p)), positive));
      acc[2] = ei::padd(acc[2], ratio);
    });
    loss = -double(sums[0]) / double(n_pos);
    const bool has_negatives = n_neg > 0;
    if (has_negatives) loss -= double(sums[1]) / double(n_neg);

    // Pass 4: dℓ/ds_k = p_k - 1[k∈P]/|P| + (1[k∈N] r_k - p_k R)/|N|: the softmax Jacobian
    // applied to the mean of log p over P and of log(1 - p) over N.
    const Scalar inv_pos = Scalar(1) / n_pos;
    const Scalar inv_neg = has_negatives ? Scalar(1) / n_neg : Scalar(0);
    const Scalar r_sum = sums[2];
    packet_sums<Scalar, 0>(0, n, [&](Index j, [[maybe_unused]] auto* acc) {
      using P = std::remove_pointer_t<decltype(acc)>;
      const P positive = ei::pcmp_eq(ei::ploadu<P>(ids + j), ei::pset1<P>(id));
      const P p = ei::pmul(ei::ploadu<P>(e + j), ei::pset1<P>(inv_z));
      P grad = ei::psub(p, ei::pand(ei::pset1<P>(inv_pos), positive));
      const P negative_term = ei::psub(ei::ploadu<P>(r_out + j), ei::pmul(p, ei::pset1<P>(r_sum)));
      grad = ei::pmadd(negative_term, ei::pset1<P>(inv_neg), grad);
      ei::pstoreu(x + j, grad);
    });
    return true;
  }

  // log(p + 1e-10) and log(1 - p + 1e-10), exactly as the official code writes them.
  double fast_official(Row s, Index i, Scalar max, Scalar n_pos, Scalar n_neg, Scratch& w) const {
    namespace ei = Eigen::internal;
    const Index n = s.cols();
    Scalar* x = s.data();
    const Scalar inv_z = Scalar(1) / exp_and_sum(x, max, n, w);
    const Scalar* ids = id_values_.data();
    const Scalar id = ids[i];
    const Scalar* e = w.e.data();
    w.c.resize(n);
    Scalar* c_out = w.c.data();
    const bool has_negatives = n_neg > 0;
    const Scalar pos_weight = -Scalar(1) / n_pos;
    const Scalar neg_weight = has_negatives ? Scalar(1) / n_neg : Scalar(0);

    // c_k = dℓ/dp_k: -1/(|P| (p + eps)) on P, 1/(|N| (1 - p + eps)) on N; also Σ c_k p_k.
    const auto sums = packet_sums<Scalar, 3>(0, n, [&](Index j, auto* acc) {
      using P = std::remove_pointer_t<decltype(acc)>;
      const P eps = ei::pset1<P>(Scalar(1e-10));
      const P positive = ei::pcmp_eq(ei::ploadu<P>(ids + j), ei::pset1<P>(id));
      const P p = ei::pmul(ei::ploadu<P>(e + j), ei::pset1<P>(inv_z));
      const P p_eps = ei::padd(p, eps);
      const P q_eps = ei::padd(ei::psub(ei::pset1<P>(Scalar(1)), p), eps);
      const P c = ei::pselect(positive, ei::pdiv(ei::pset1<P>(pos_weight), p_eps),
                              ei::pdiv(ei::pset1<P>(neg_weight), q_eps));
      ei::pstoreu(c_out + j, c);
      acc[0] = ei::padd(acc[0], ei::pand(ei::plog(p_eps), positive));
      acc[1] = ei::padd(acc[1], ei::pandnot(ei::plog(q_eps), positive));
      acc[2] = ei::padd(acc[2], ei::pmul(c, p));
    });
    double loss = -double(sums[0]) / double(n_pos);
    if (has_negatives) loss -= double(sums[1]) / double(n_neg);

    // dℓ/ds_k = p_k (c_k - Σ_j c_j p_j): the softmax Jacobian applied to dℓ/dp.
    const Scalar cp_sum = sums[2];
    packet_sums<Scalar, 0>(0, n, [&](Index j, [[maybe_unused]] auto* acc) {
      using P = std::remove_pointer_t<decltype(acc)>;
      const P p = ei::pmul(ei::ploadu<P>(e + j), ei::pset1<P>(inv_z));
      ei::pstoreu(x + j, ei::pmul(p, ei::psub(ei::ploadu<P>(c_out + j), ei::pset1<P>(cp_sum))));
    });
    return loss;
  }

  static double general_official(Row s, Scalar n_pos, Scalar n_neg, Scratch& w) {
    constexpr Scalar eps = Scalar(1e-10);
    auto a = s.array();
    w.p = (a - a.maxCoeff()).exp();
    w.p /= w.p.sum();
    double loss = -double((w.positive * (w.p + eps).log()).sum()) / double(n_pos);
    w.coeff = -w.positive / (n_pos * (w.p + eps));
    if (n_neg > 0) {
      loss -= double(((1 - w.positive) * (1 - w.p + eps).log()).sum()) / double(n_neg);
      w.coeff += (1 - w.positive) / (n_neg * (1 - w.p + eps));
    }
    a = w.p * (w.coeff - (w.coeff * w.p).sum());
    return loss;
  }

  static double general_stable(Row s, Scalar n_pos, Scalar n_neg, Scratch& w) {
    auto a = s.array();
    Index top = 0;
    const Scalar max = a.maxCoeff(&top);
    w.p = (a - max).exp();
    const Scalar z = w.p.sum();
    w.log_p = a - (max + std::log(z));
    w.p /= z;
    double loss = -double((w.positive * w.log_p).sum()) / double(n_pos);
    // From here on the logits live in log_p and `a` receives the gradient. The positive term's
    // gradient is p - 1[j∈P]/|P| (the softmax Jacobian applied to a mean of log p).
    a = w.p - w.positive / n_pos;
    if (n_neg == 0) return loss;

    // log(1 - p_j) = log1p(-p_j) is accurate while p_j <= 1/2, which holds for every column but
    // possibly the arg-max. For that one, 1 - p_top = Σ_{k≠top} p_k, summed in log space.
    w.log1m_p = (-w.p).log1p();
    const Scalar p_top = w.p[top];
    const bool dominant = p_top > Scalar(0.5);
    const Scalar log_rest = dominant ? log_sum_exp_without(w.log_p, top) : Scalar(0);
    if (dominant) w.log1m_p[top] = log_rest;
    w.negative = 1 - w.positive;
    loss -= double((w.negative * w.log1m_p).sum()) / double(n_neg);

    // Negative term: dℓ/ds_k = (1/|N|) [1[k∈N] r_k - p_k Σ_{j∈N} r_j], r = p / (1 - p).
    w.ratio = w.p / (1 - w.p);
    if (dominant) w.ratio[top] = 0;  // may be inf; a positive top column needs no ratio at all
    if (!dominant || w.positive[top] > 0) {
      const Scalar r_sum = (w.negative * w.ratio).sum();
      a += (w.negative * w.ratio - w.p * r_sum) / n_neg;
      return loss;
    }
    // A dominant negative column: r_top = p_top / (1 - p_top) may overflow, but it cancels.
    // With q_k = p_k / (1 - p_top), p_k r_top = p_top q_k, and the top column's own term is
    // r_top (1 - p_top) - p_top R' = p_top (1 - R'), R' being the ratio sum of the other negatives.
    const Scalar r_rest = (w.negative * w.ratio).sum();
    w.q = (w.log_p - log_rest).exp();
    w.q[top] = 0;  // its own term is set below
    a += (w.negative * w.ratio - w.p * r_rest - p_top * w.q) / n_neg;
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
  bool fast_ = true;
  Array id_values_;
};

}  // namespace ccl::loss::detail
