#pragma once
// Row kernels of the baselines whose work is O(B·D) (or O(B·C)): KD on logits (ccl/loss/kd.hpp,
// the baselines' Kd alias), FitNet (fitnet.hpp) and COR (correlation_congruence.hpp). One block
// per row; each writes its row's unweighted loss in double (summed by sum_row_losses_kernel) and
// ADDS the weighted gradient into the non-null gradient rows, like the CPU classes. Eigen-free.

#include <ccl/cuda/kernels/math.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels::baselines {

inline constexpr int rows_threads = 256;

/// Hinton KD, one row: log p = log softmax(z / T) for both sides as in log_softmax_row (max
/// subtracted, then log of the exp-sum), kl = Σ p^t (log p^t - log p^s);
/// grad_s += scale (p^s - p^t), grad_t += scale p^t (log p^t - log p^s - kl).
template <class Scalar>
__global__ void __launch_bounds__(rows_threads)
    kd_rows_kernel(const Scalar* __restrict__ zs, std::ptrdiff_t stride_s,
                   const Scalar* __restrict__ zt, std::ptrdiff_t stride_t, int classes,
                   Scalar inv_t, Scalar scale, Scalar* __restrict__ grad_s,
                   std::ptrdiff_t grad_stride_s, Scalar* __restrict__ grad_t,
                   std::ptrdiff_t grad_stride_t, double* __restrict__ row_loss) {
  __shared__ Scalar scratch[rows_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const Scalar* a = zs + i * stride_s;
  const Scalar* b = zt + i * stride_t;
  Scalar max_s = -INFINITY, max_t = -INFINITY;
  const auto maximum = [](Scalar x, Scalar y) { return x > y ? x : y; };
  for (int c = tid; c < classes; c += rows_threads) {
    max_s = maximum(max_s, a[c] * inv_t);
    max_t = maximum(max_t, b[c] * inv_t);
  }
  max_s = block_max(max_s, scratch);
  max_t = block_max(max_t, scratch);
  Scalar sum_s = 0, sum_t = 0;
  for (int c = tid; c < classes; c += rows_threads) {
    sum_s += exp(a[c] * inv_t - max_s);
    sum_t += exp(b[c] * inv_t - max_t);
  }
  const Scalar log_z_s = log(block_sum(sum_s, scratch));
  const Scalar log_z_t = log(block_sum(sum_t, scratch));
  Scalar kl = 0;
  for (int c = tid; c < classes; c += rows_threads) {
    const Scalar log_ps = (a[c] * inv_t - max_s) - log_z_s;
    const Scalar log_pt = (b[c] * inv_t - max_t) - log_z_t;
    kl += exp(log_pt) * (log_pt - log_ps);
  }
  kl = block_sum(kl, scratch);
  if (tid == 0) row_loss[i] = double(kl);
  for (int c = tid; c < classes; c += rows_threads) {
    const Scalar log_ps = (a[c] * inv_t - max_s) - log_z_s;
    const Scalar log_pt = (b[c] * inv_t - max_t) - log_z_t;
    const Scalar ps = exp(log_ps);
    const Scalar pt = exp(log_pt);
    if (grad_s != nullptr) grad_s[i * grad_stride_s + c] += scale * (ps - pt);
    if (grad_t != nullptr) grad_t[i * grad_stride_t + c] += scale * (pt * ((log_pt - log_ps) - kl));
  }
}

/// FitNet, one row: Σ_d (s - t)²; grad_s += scale (s - t), grad_t -= scale (s - t).
template <class Scalar>
__global__ void __launch_bounds__(rows_threads)
    fitnet_rows_kernel(const Scalar* __restrict__ s, std::ptrdiff_t stride_s,
                       const Scalar* __restrict__ t, std::ptrdiff_t stride_t, int cols,
                       Scalar scale, Scalar* __restrict__ grad_s, std::ptrdiff_t grad_stride_s,
                       Scalar* __restrict__ grad_t, std::ptrdiff_t grad_stride_t,
                       double* __restrict__ row_loss) {
  __shared__ Scalar scratch[rows_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  Scalar sum = 0;
  for (int d = tid; d < cols; d += rows_threads) {
    const Scalar diff = s[i * stride_s + d] - t[i * stride_t + d];
    sum += diff * diff;
    if (grad_s != nullptr) grad_s[i * grad_stride_s + d] += scale * diff;
    if (grad_t != nullptr) grad_t[i * grad_stride_t + d] -= scale * diff;
  }
  sum = block_sum(sum, scratch);
  if (tid == 0) row_loss[i] = double(sum);
}

/// COR, one row i of B >= 2: Δ = |s - t|, row loss Σ_d Δ_i Δ_{i+1} (0 for the last row);
/// dL/d(s - t)_i = (Δ_{i+1} + Δ_{i-1}) sign(s - t)_i · scale, missing neighbours 0;
/// grad_s += it, grad_t -= it.
template <class Scalar>
__global__ void __launch_bounds__(rows_threads)
    correlation_rows_kernel(const Scalar* __restrict__ s, std::ptrdiff_t stride_s,
                            const Scalar* __restrict__ t, std::ptrdiff_t stride_t, int rows,
                            int cols, Scalar scale, Scalar* __restrict__ grad_s,
                            std::ptrdiff_t grad_stride_s, Scalar* __restrict__ grad_t,
                            std::ptrdiff_t grad_stride_t, double* __restrict__ row_loss) {
  __shared__ Scalar scratch[rows_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const auto delta = [&](int row, int d) {
    return row_math::abs(s[row * stride_s + d] - t[row * stride_t + d]);
  };
  Scalar sum = 0;
  for (int d = tid; d < cols; d += rows_threads) {
    const Scalar diff = s[i * stride_s + d] - t[i * stride_t + d];
    const Scalar own = row_math::abs(diff);
    const Scalar next = i + 1 < rows ? delta(i + 1, d) : Scalar(0);
    const Scalar previous = i > 0 ? delta(i - 1, d) : Scalar(0);
    sum += own * next;
    const Scalar sign = diff > Scalar(0) ? Scalar(1) : (diff < Scalar(0) ? Scalar(-1) : Scalar(0));
    const Scalar grad = (next + previous) * sign * scale;
    if (grad_s != nullptr) grad_s[i * grad_stride_s + d] += grad;
    if (grad_t != nullptr) grad_t[i * grad_stride_t + d] -= grad;
  }
  sum = block_sum(sum, scratch);
  if (tid == 0) row_loss[i] = double(sum);
}

}  // namespace ccl::gpu::kernels::baselines
