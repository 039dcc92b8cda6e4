#pragma once
// The per-element mathematics of the Table 1 baselines (ccl/loss/baselines/*.hpp), written once
// as __host__ __device__ functions: the kernels call them on the device and the [host] tests
// check them against the CPU classes without a GPU. Each mirrors the CPU expression it replaces,
// operand order included, so both backends round alike. Eigen-free.

#include <ccl/cuda/kernels/math.cuh>

#include <cuda_runtime.h>

#include <cmath>

namespace ccl::gpu::kernels::baselines {

/// A loss contribution and its derivatives with respect to the student and teacher inputs.
template <class Scalar>
struct ElementTerms {
  Scalar value, grad_student, grad_teacher;
};

/// PKT (pkt.hpp): P^t log((P^t + eps)/(P^s + eps)) and inv_b2 · its derivatives in P^s, P^t.
template <class Scalar>
__host__ __device__ inline ElementTerms<Scalar> pkt_terms(Scalar ps, Scalar pt, Scalar eps,
                                                          Scalar inv_b2) {
  const Scalar log_ratio = row_math::log((pt + eps) / (ps + eps));
  return {pt * log_ratio, -inv_b2 * pt / (ps + eps), inv_b2 * (log_ratio + pt / (pt + eps))};
}

/// IFD (ifd.hpp): (P^t - P^s)(log P^t - log P^s) with P clamped at `tiny`, and inv_b2 · its
/// derivatives.
template <class Scalar>
__host__ __device__ inline ElementTerms<Scalar> ifd_terms(Scalar ps, Scalar pt, Scalar tiny,
                                                          Scalar inv_b2) {
  ps = row_math::max(ps, tiny);
  pt = row_math::max(pt, tiny);
  const Scalar log_ratio = row_math::log(pt) - row_math::log(ps);
  return {(pt - ps) * log_ratio, inv_b2 * (-log_ratio + Scalar(1) - pt / ps),
          inv_b2 * (log_ratio + Scalar(1) - ps / pt)};
}

/// The probability kernels of probability_kernels.hpp: cosine K = (u·u' + 1)/2 from the Gram
/// entry g; Student-t δ = sqrt(max(sq, 0) + eps), K = 1/(1 + δ).
template <class Scalar>
__host__ __device__ inline Scalar cosine_kernel(Scalar g) {
  return (g + Scalar(1)) * Scalar(0.5);
}
template <class Scalar>
__host__ __device__ inline Scalar student_t_delta(Scalar sq, Scalar eps) {
  return row_math::sqrt(row_math::max(sq, Scalar(0)) + eps);
}
template <class Scalar>
__host__ __device__ inline Scalar student_t_kernel(Scalar sq, Scalar eps) {
  return Scalar(1) / (Scalar(1) + student_t_delta(sq, eps));
}
/// dL/dsq of the Student-t kernel from dL/dK.
template <class Scalar>
__host__ __device__ inline Scalar student_t_grad_sq(Scalar grad_k, Scalar sq, Scalar eps) {
  const Scalar delta = student_t_delta(sq, eps);
  const Scalar k = Scalar(1) / (Scalar(1) + delta);
  return -grad_k * (k * k) / (Scalar(2) * delta) * (sq >= Scalar(0) ? Scalar(1) : Scalar(0));
}

/// RKD's SmoothL1 (Huber, threshold 1) and its derivative (rkd.hpp).
template <class Scalar>
__host__ __device__ inline Scalar smooth_l1(Scalar x) {
  const Scalar a = row_math::abs(x);
  return a < Scalar(1) ? Scalar(0.5) * x * x : a - Scalar(0.5);
}
template <class Scalar>
__host__ __device__ inline Scalar smooth_l1_grad(Scalar x) {
  return row_math::abs(x) < Scalar(1) ? x : (x > Scalar(0) ? Scalar(1) : Scalar(-1));
}

/// One NCE logit x of the memory-bank losses (contrast_memory.hpp): with D = x - (log Z + log c),
/// the loss term (softplus(D) - D for the positive column, softplus(D) - (log(m P_n) - log c) for
/// a negative) and dL/dx · B (sigmoid(D) - 1 for the positive, sigmoid(D) for a negative).
template <class Scalar>
__host__ __device__ inline ElementTerms<Scalar> nce_terms(Scalar x, bool positive,
                                                          Scalar log_z_plus_log_c,
                                                          Scalar log_mpn_minus_log_c) {
  const Scalar d = x - log_z_plus_log_c;
  const Scalar e = row_math::exp(-row_math::abs(d));
  const Scalar softplus = row_math::max(d, Scalar(0)) + row_math::log1p(e);
  const Scalar sigmoid = d >= Scalar(0) ? Scalar(1) / (Scalar(1) + e) : e / (Scalar(1) + e);
  if (positive) return {softplus - d, sigmoid - Scalar(1), Scalar(0)};
  return {softplus - log_mpn_minus_log_c, sigmoid, Scalar(0)};
}

}  // namespace ccl::gpu::kernels::baselines
