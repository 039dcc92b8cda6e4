#pragma once
// SymmetricKl (the official code's "JSD", method.md §4.4) on two [B, C] blocks of logits, one
// thread block per row, with the CPU's formulas (ccl/loss/symmetric_kl.hpp): log p and log q by
// log-sum-exp, x = log p - log q, and for Numerics::official the logaddexp / logistic forms of
// log(p/q + ε) and its derivative, so nothing divides by an underflowed probability.
//   row loss  Σ_c p_c L(x_c) + q_c L(-x_c)
//   dL/dz1_k  ∝ h1_k - p_k Σ_c h1_c,   h1_c = p_c L(x_c) + p_c σ(x_c - ℓ) - q_c σ(-x_c - ℓ)
// (stable: L(x) = x, σ = 1). Every quantity is recomputed per element, so nothing of size C is
// stored. Eigen-free.

#include <ccl/cuda/kernels/math.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

inline constexpr int symmetric_kl_threads = 256;

/// log(exp(x) + exp(l)) without overflow.
template <class Scalar>
__host__ __device__ inline Scalar log_add_exp(Scalar x, Scalar l) {
  const Scalar hi = x > l ? x : l;
  return hi + row_math::log1p(row_math::exp(-row_math::abs(x - l)));
}

/// 1 / (1 + exp(-t)) for either sign of t without overflow.
template <class Scalar>
__host__ __device__ inline Scalar logistic(Scalar t) {
  if (t >= Scalar(0)) return Scalar(1) / (Scalar(1) + row_math::exp(-t));
  const Scalar e = row_math::exp(t);
  return e / (Scalar(1) + e);
}

/// Row lse of z (all threads get it); contains __syncthreads.
template <class Scalar>
__device__ inline Scalar row_log_sum_exp(const Scalar* z, int classes, Scalar* scratch) {
  const int tid = static_cast<int>(threadIdx.x);
  Scalar max = -INFINITY;
  for (int c = tid; c < classes; c += symmetric_kl_threads) max = z[c] > max ? z[c] : max;
  max = block_max(max, scratch);
  Scalar sum = 0;
  for (int c = tid; c < classes; c += symmetric_kl_threads) sum += exp(z[c] - max);
  sum = block_sum(sum, scratch);
  return max + log(sum);
}

template <class Scalar>
struct KlTerms {
  Scalar loss, h1, h2;
};

/// Per-class terms: the loss contribution and h1, h2 (before the softmax Jacobian).
template <class Scalar>
__host__ __device__ inline KlTerms<Scalar> symmetric_kl_terms(Scalar log_p, Scalar log_q,
                                                              bool official, Scalar log_eps) {
  const Scalar p = row_math::exp(log_p);
  const Scalar q = row_math::exp(log_q);
  const Scalar x = log_p - log_q;
  Scalar l_pq = x, l_qp = -x, s_pq = 1, s_qp = 1;
  if (official) {
    l_pq = log_add_exp(x, log_eps);
    l_qp = log_add_exp(-x, log_eps);
    s_pq = logistic(x - log_eps);
    s_qp = logistic(-x - log_eps);
  }
  return {p * l_pq + q * l_qp, p * l_pq + p * s_pq - q * s_qp, q * l_qp + q * s_qp - p * s_pq};
}

/// One block per row. grad_z1 / grad_z2 may be null (not requested); `scale` multiplies the
/// gradients only (weight · w / B), the row loss is unweighted.
template <class Scalar>
__global__ void __launch_bounds__(symmetric_kl_threads)
    symmetric_kl_kernel(const Scalar* __restrict__ z1, std::ptrdiff_t stride1,
                        const Scalar* __restrict__ z2, std::ptrdiff_t stride2, int classes,
                        bool official, Scalar log_eps, Scalar scale, Scalar* __restrict__ grad_z1,
                        std::ptrdiff_t grad_stride1, Scalar* __restrict__ grad_z2,
                        std::ptrdiff_t grad_stride2, double* __restrict__ row_loss) {
  __shared__ Scalar scratch[symmetric_kl_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const Scalar* a = z1 + i * stride1;
  const Scalar* b = z2 + i * stride2;
  const Scalar lse_a = row_log_sum_exp(a, classes, scratch);
  const Scalar lse_b = row_log_sum_exp(b, classes, scratch);
  Scalar loss = 0, h1 = 0, h2 = 0;
  for (int c = tid; c < classes; c += symmetric_kl_threads) {
    const KlTerms<Scalar> t = symmetric_kl_terms(a[c] - lse_a, b[c] - lse_b, official, log_eps);
    loss += t.loss;
    h1 += t.h1;
    h2 += t.h2;
  }
  loss = block_sum(loss, scratch);
  h1 = block_sum(h1, scratch);
  h2 = block_sum(h2, scratch);
  if (tid == 0) row_loss[i] = double(loss);
  for (int c = tid; c < classes; c += symmetric_kl_threads) {
    const Scalar log_p = a[c] - lse_a;
    const Scalar log_q = b[c] - lse_b;
    const KlTerms<Scalar> t = symmetric_kl_terms(log_p, log_q, official, log_eps);
    // The softmax Jacobian: dL/dz_k = h_k - p_k Σ_c h_c.
    if (grad_z1 != nullptr) grad_z1[i * grad_stride1 + c] += scale * (t.h1 - exp(log_p) * h1);
    if (grad_z2 != nullptr) grad_z2[i * grad_stride2 + c] += scale * (t.h2 - exp(log_q) * h2);
  }
}

}  // namespace ccl::gpu::kernels
