#pragma once
// The per-row mathematics of the row-softmax contrastive losses on the device, shared by the
// cuBLAS-based row kernel and the fused tile kernels. It is the CPU's MultiClassNceRows /
// InstanceNceRows (ccl/loss/multiclass_nce.hpp, nce.hpp) rewritten as three streaming passes over
// a row of logits s_j = cos(f_i, g_j) / τ, because the fused kernels never hold a whole row:
//
//   pass 1 (RowStats)  online max / log-sum-exp, the arg-max and runner-up, Σ_{j∈P} s_j
//   pass 2 (RowTerms)  sums that need p_j = exp(s_j - lse): Σ_N log(1 - p_j), Σ_N p_j/(1 - p_j),
//                      the runner-up-shifted Σ_{j≠top} p_j, and the official code's sums
//   pass 3             dℓ/ds_j per element from the row's finished constants (RowFinal)
//
// Instance NCE is multi-class NCE's positive term with every row its own class (P(i) = {i}), so
// it needs pass 1 and pass 3 only. Eigen-free. The functions are __host__ __device__ so that
// the host tests can check them against the CPU row objectives without a GPU.

#include <ccl/cuda/kernels/math.cuh>

#include <cuda_runtime.h>

#include <cmath>

namespace ccl::gpu::kernels {

enum class RowMode : int { instance = 0, multiclass_stable = 1, multiclass_official = 2 };

/// Pass-1 state of one row (or part of one): an online log-sum-exp plus the top two logits.
template <class Scalar>
struct RowStats {
  Scalar max;        ///< largest logit seen
  Scalar runner_up;  ///< second largest (equal to max on a tie)
  Scalar sum_exp;    ///< Σ exp(s_j - max)
  Scalar sum_pos;    ///< Σ_{j∈P} s_j
  int top;           ///< column of `max` (smallest index on ties)
};

/// Pass-2 partial sums of one row.
template <class Scalar>
struct RowTerms {
  Scalar log1m_neg;  ///< stable: Σ_{j∈N, j≠dominant top} log1p(-p_j); official: Σ_N log(1-p+ε)
  Scalar ratio_sum;  ///< stable: Σ_{j∈N} p_j / (1 - p_j), the dominant top column excluded
  Scalar rest;       ///< stable: Σ_{j≠top} exp(s_j - runner_up), when the top dominates
  Scalar log_pos;    ///< official: Σ_P log(p_j + ε)
  Scalar coef_dot;   ///< official: Σ_j c_j p_j, c = dℓ/dp
};

/// Everything pass 3 needs about a row.
template <class Scalar>
struct RowFinal {
  Scalar lse;      ///< log Σ_j exp(s_j)
  Scalar max;      ///< max_j s_j
  Scalar inv_sum;  ///< 1 / Σ_j exp(s_j - max)
  Scalar runner_up;
  Scalar p_top;  ///< softmax probability of the arg-max column
  Scalar ratio_sum;
  Scalar log_rest;  ///< log(1 - p_top) = log Σ_{j≠top} p_j, when the top dominates
  Scalar coef_dot;
  int top;
  int positives;     ///< |P(i)|
  int negatives;     ///< |N(i)| = B - |P(i)|
  int dominant;      ///< p_top > 1/2: log(1 - p_top) and r_top need the special forms
  int top_positive;  ///< the arg-max column belongs to P(i)
};

template <class Scalar>
__host__ __device__ inline RowStats<Scalar> empty_stats() {
  return {-INFINITY, -INFINITY, Scalar(0), Scalar(0), 0x7fffffff};
}

template <class Scalar>
__host__ __device__ inline void stats_update(RowStats<Scalar>& st, Scalar s, int j, bool positive) {
  if (positive) st.sum_pos += s;
  if (s > st.max || (s == st.max && j < st.top)) {
    // exp(-inf) = 0 keeps the empty state's sum at 0 without a branch.
    st.sum_exp = st.sum_exp * row_math::exp(st.max - s) + Scalar(1);
    st.runner_up = st.max;
    st.max = s;
    st.top = j;
  } else {
    st.sum_exp += row_math::exp(s - st.max);
    st.runner_up = row_math::max(st.runner_up, s);
  }
}

template <class Scalar>
__host__ __device__ inline RowStats<Scalar> stats_combine(const RowStats<Scalar>& a,
                                                          const RowStats<Scalar>& b) {
  if (a.sum_exp == Scalar(0)) return {b.max, b.runner_up, b.sum_exp, a.sum_pos + b.sum_pos, b.top};
  if (b.sum_exp == Scalar(0)) return {a.max, a.runner_up, a.sum_exp, a.sum_pos + b.sum_pos, a.top};
  const bool a_wins = a.max > b.max || (a.max == b.max && a.top < b.top);
  const RowStats<Scalar>& hi = a_wins ? a : b;
  const RowStats<Scalar>& lo = a_wins ? b : a;
  RowStats<Scalar> out;
  out.max = hi.max;
  out.top = hi.top;
  out.runner_up = row_math::max(hi.runner_up, lo.max);
  out.sum_exp = hi.sum_exp + lo.sum_exp * row_math::exp(lo.max - hi.max);
  out.sum_pos = a.sum_pos + b.sum_pos;
  return out;
}

template <class Scalar>
__host__ __device__ inline RowTerms<Scalar> terms_combine(const RowTerms<Scalar>& a,
                                                          const RowTerms<Scalar>& b) {
  return {a.log1m_neg + b.log1m_neg, a.ratio_sum + b.ratio_sum, a.rest + b.rest,
          a.log_pos + b.log_pos, a.coef_dot + b.coef_dot};
}

/// The official code's epsilon inside both logs (method.md §4.3).
template <class Scalar>
__host__ __device__ inline Scalar official_eps() {
  return Scalar(1e-10);
}

/// dℓ/dp_j of the official formula: -1[j∈P] / (|P| (p + ε)) + 1[j∈N] / (|N| (1 - p + ε)).
template <class Scalar>
__host__ __device__ inline Scalar official_coefficient(Scalar p, bool positive, int positives,
                                                       int negatives) {
  const Scalar eps = official_eps<Scalar>();
  if (positive) return -Scalar(1) / (Scalar(positives) * (p + eps));
  return negatives > 0 ? Scalar(1) / (Scalar(negatives) * (Scalar(1) - p + eps)) : Scalar(0);
}

/// The official code's softmax, exp(s - max) / Σ: log(1 - p + 1e-10) is ill-conditioned as
/// p -> 1 (the 1e-10 is below float resolution there), so p is rounded the way PyTorch's softmax
/// and the CPU backend round it rather than as exp(s - lse).
template <class Scalar>
__host__ __device__ inline Scalar official_probability(const RowFinal<Scalar>& fin, Scalar s) {
  return row_math::exp(s - fin.max) * fin.inv_sum;
}

/// Row constants after pass 1 (pass-2 fields zeroed).
template <class Scalar>
__host__ __device__ inline RowFinal<Scalar> finish_stats(const RowStats<Scalar>& st, int positives,
                                                         int negatives, bool top_positive) {
  RowFinal<Scalar> fin{};
  fin.lse = st.max + row_math::log(st.sum_exp);
  fin.max = st.max;
  fin.inv_sum = Scalar(1) / st.sum_exp;
  fin.runner_up = st.runner_up;
  fin.p_top = Scalar(1) / st.sum_exp;  // exp(max - lse)
  fin.top = st.top;
  fin.positives = positives;
  fin.negatives = negatives;
  fin.dominant = fin.p_top > Scalar(0.5);
  fin.top_positive = top_positive;
  return fin;
}

template <class Scalar>
__host__ __device__ inline void terms_update(RowTerms<Scalar>& t, const RowFinal<Scalar>& fin,
                                             RowMode mode, Scalar s, int j, bool positive) {
  if (mode == RowMode::multiclass_official) {
    const Scalar p = official_probability(fin, s);
    const Scalar eps = official_eps<Scalar>();
    if (positive) {
      t.log_pos += row_math::log(p + eps);
    } else {
      t.log1m_neg += row_math::log(Scalar(1) - p + eps);
    }
    t.coef_dot += official_coefficient(p, positive, fin.positives, fin.negatives) * p;
    return;
  }
  const Scalar p = row_math::exp(s - fin.lse);
  // Stable: log(1 - p) = log1p(-p) is accurate while p <= 1/2, i.e. everywhere but a
  // dominant top column, whose log(1 - p_top) comes from the other columns' sum (`rest`).
  const bool dominant_top = fin.dominant && j == fin.top;
  if (!positive && !dominant_top) {
    t.log1m_neg += row_math::log1p(-p);
    t.ratio_sum += p / (Scalar(1) - p);
  }
  if (fin.dominant && j != fin.top) t.rest += row_math::exp(s - fin.runner_up);
}

/// Completes the row's constants from its pass-2 sums and returns its loss ℓ_i.
template <class Scalar>
__host__ __device__ inline double finish_row(RowFinal<Scalar>& fin, const RowStats<Scalar>& st,
                                             const RowTerms<Scalar>& t, RowMode mode) {
  const double positives = fin.positives;
  const double negatives = fin.negatives;
  if (mode == RowMode::multiclass_official) {
    fin.coef_dot = t.coef_dot;
    double loss = -double(t.log_pos) / positives;
    if (fin.negatives > 0) loss -= double(t.log1m_neg) / negatives;
    return loss;
  }
  // Σ_{j∈P} log p_j = Σ_{j∈P} s_j - |P| lse.
  double loss = -(double(st.sum_pos) - positives * double(fin.lse)) / positives;
  if (mode == RowMode::instance || fin.negatives == 0) return loss;
  fin.ratio_sum = t.ratio_sum;
  double log1m = t.log1m_neg;
  if (fin.dominant) {
    // log Σ_{j≠top} p_j, shifted by the runner-up so the sum cannot underflow.
    fin.log_rest = fin.runner_up + row_math::log(t.rest) - fin.lse;
    if (!fin.top_positive) log1m += double(fin.log_rest);
  }
  return loss - log1m / negatives;
}

/// dℓ_i/ds_j for one element, from the finished row constants.
template <class Scalar>
__host__ __device__ inline Scalar row_gradient(const RowFinal<Scalar>& fin, RowMode mode, Scalar s,
                                               int j, bool positive) {
  if (mode == RowMode::multiclass_official) {
    // Softmax Jacobian applied to dℓ/dp: p_j (c_j - Σ_k c_k p_k).
    const Scalar p = official_probability(fin, s);
    return p * (official_coefficient(p, positive, fin.positives, fin.negatives) - fin.coef_dot);
  }
  const Scalar log_p = s - fin.lse;
  const Scalar p = row_math::exp(log_p);
  // Positive term: p - 1[j∈P] / |P|.
  Scalar grad = p - (positive ? Scalar(1) / Scalar(fin.positives) : Scalar(0));
  if (mode == RowMode::instance || fin.negatives == 0) return grad;
  const Scalar inv_neg = Scalar(1) / Scalar(fin.negatives);
  const bool is_top = j == fin.top;
  // Negative term: (1/|N|) [1[j∈N] r_j - p_j Σ_{k∈N} r_k], r = p / (1 - p).
  const Scalar ratio = (positive || (fin.dominant && is_top)) ? Scalar(0) : p / (Scalar(1) - p);
  if (!fin.dominant || fin.top_positive) return grad + (ratio - p * fin.ratio_sum) * inv_neg;
  // A dominant negative top column: r_top may overflow but cancels analytically (see the CPU
  // MultiClassNceRows::stable); q_j = p_j / (1 - p_top) = exp(log p_j - log_rest).
  if (is_top) return fin.p_top + fin.p_top * (Scalar(1) - fin.ratio_sum) * inv_neg;
  const Scalar q = row_math::exp(log_p - fin.log_rest);
  return grad + (ratio - p * fin.ratio_sum - fin.p_top * q) * inv_neg;
}

}  // namespace ccl::gpu::kernels
