#pragma once
// Kernels of the memory-bank baselines CRD and CMC on the GPU
// (ccl/loss/baselines/detail/contrast_memory.hpp). Banks are row-major [N, d] device arrays;
// contrast indices a row-major [B, K + 1] array of 64-bit dataset indices drawn on the host.
//   gather_scores_kernel     x_ik = M[idx_ik]·u_i / T                        (warp per (i, k))
//   exp_sum_kernel           per-block Σ exp(x) in double, for Z at the first NCE batch
//   nce_rows_kernel          NCE loss per row and dL/dx (in place)           (block per row)
//   softmax_rows_kernel      CMC --softmax loss per row and dL/dx (in place)  (block per row)
//   gather_backward_kernel   dL/du_i = Σ_k (dL/dx_ik / T) M[idx_ik]          (block per row)
//   momentum_update_kernel   M[idx_i] ← normalise(μ M[idx_i] + (1-μ) u_i), rows in batch order
// Eigen-free.

#include <ccl/cuda/kernels/baselines_math.cuh>
#include <ccl/cuda/kernels/math.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels::baselines {

inline constexpr int memory_threads = 256;
inline constexpr int memory_warps = memory_threads / 32;

template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    gather_scores_kernel(const Scalar* __restrict__ memory, int dim,
                         const Scalar* __restrict__ anchors, const long long* __restrict__ idx,
                         int b, int cols, Scalar inv_t, Scalar* __restrict__ out) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const long long item =
      static_cast<long long>(blockIdx.x) * memory_warps + static_cast<int>(threadIdx.x) / 32;
  if (item >= static_cast<long long>(b) * cols) return;
  const int i = static_cast<int>(item / cols);
  const Scalar* m = memory + idx[item] * dim;
  const Scalar* u = anchors + static_cast<std::ptrdiff_t>(i) * dim;
  Scalar dot = 0;
  for (int d = lane; d < dim; d += 32) dot += m[d] * u[d];
  dot = warp_sum(dot);
  if (lane == 0) out[item] = dot * inv_t;
}

template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    exp_sum_kernel(const Scalar* __restrict__ x, long long count, double* __restrict__ partial) {
  __shared__ double scratch[memory_threads];
  double sum = 0;
  for (long long k = static_cast<long long>(blockIdx.x) * memory_threads + threadIdx.x; k < count;
       k += static_cast<long long>(gridDim.x) * memory_threads)
    sum += double(row_math::exp(x[k]));
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

/// Row i: loss Σ_k NCE term (double), scores replaced by dL/dx = terms' derivative / B.
template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    nce_rows_kernel(Scalar* __restrict__ scores, int cols, Scalar log_z_plus_log_c,
                    Scalar log_mpn_minus_log_c, Scalar batch, double* __restrict__ row_loss) {
  __shared__ double scratch[memory_threads];
  const int i = static_cast<int>(blockIdx.x);
  Scalar* x = scores + static_cast<std::ptrdiff_t>(i) * cols;
  double loss = 0;
  for (int k = static_cast<int>(threadIdx.x); k < cols; k += memory_threads) {
    const ElementTerms<Scalar> t = nce_terms(x[k], k == 0, log_z_plus_log_c, log_mpn_minus_log_c);
    loss += double(t.value);
    x[k] = t.grad_student / batch;
  }
  loss = block_sum(loss, scratch);
  if (threadIdx.x == 0) row_loss[i] = loss;
}

/// Row i: loss -(x_0 - lse(x)), scores replaced by (softmax(x) - e_0) / B.
template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    softmax_rows_kernel(Scalar* __restrict__ scores, int cols, Scalar batch,
                        double* __restrict__ row_loss) {
  __shared__ Scalar scratch[memory_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  Scalar* x = scores + static_cast<std::ptrdiff_t>(i) * cols;
  Scalar max = -INFINITY;
  for (int k = tid; k < cols; k += memory_threads) max = row_math::max(max, x[k]);
  max = block_max(max, scratch);
  Scalar sum = 0;
  for (int k = tid; k < cols; k += memory_threads) sum += row_math::exp(x[k] - max);
  sum = block_sum(sum, scratch);
  const Scalar log_z = max + row_math::log(sum);
  if (tid == 0) row_loss[i] = -double(x[0] - log_z);
  __syncthreads();  // x[0] is read above before thread 0 overwrites it below
  for (int k = tid; k < cols; k += memory_threads) {
    Scalar p = row_math::exp(x[k] - log_z);
    if (k == 0) p -= Scalar(1);
    x[k] = p / batch;
  }
}

/// Block per anchor i: grad_unit[i, d] = Σ_k (grad_scores[i, k] · inv_t) · M[idx_ik, d]; each
/// warp takes every memory_warps-th k for 32 consecutive d, then the warps' sums are added.
template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    gather_backward_kernel(const Scalar* __restrict__ grad_scores,
                           const long long* __restrict__ idx, const Scalar* __restrict__ memory,
                           int dim, int cols, Scalar inv_t, Scalar* __restrict__ grad_unit) {
  __shared__ Scalar partial[memory_warps][32];
  const int i = static_cast<int>(blockIdx.x);
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const Scalar* g = grad_scores + static_cast<std::ptrdiff_t>(i) * cols;
  const long long* rows = idx + static_cast<std::ptrdiff_t>(i) * cols;
  for (int d0 = 0; d0 < dim; d0 += 32) {
    const int d = d0 + lane;
    Scalar acc = 0;
    if (d < dim) {
      for (int k = warp; k < cols; k += memory_warps)
        acc += (g[k] * inv_t) * memory[rows[k] * dim + d];
    }
    partial[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && d < dim) {
      Scalar sum = 0;
      for (int w = 0; w < memory_warps; ++w) sum += partial[w][lane];
      grad_unit[static_cast<std::ptrdiff_t>(i) * dim + d] = sum;
    }
    __syncthreads();
  }
}

/// One block per bank (blockIdx.x 0: student bank with the student units, 1: teacher), the
/// batch's rows in order, so a dataset index that occurs twice is updated twice in sequence
/// exactly as on the CPU.
template <class Scalar>
__global__ void __launch_bounds__(memory_threads)
    momentum_update_kernel(Scalar* __restrict__ memory_s, Scalar* __restrict__ memory_t, int dim,
                           const Scalar* __restrict__ unit_s, const Scalar* __restrict__ unit_t,
                           const long long* __restrict__ indices, int b, Scalar mu) {
  __shared__ Scalar scratch[memory_threads];
  Scalar* memory = blockIdx.x == 0 ? memory_s : memory_t;
  const Scalar* unit = blockIdx.x == 0 ? unit_s : unit_t;
  const int tid = static_cast<int>(threadIdx.x);
  for (int i = 0; i < b; ++i) {
    Scalar* row = memory + indices[i] * dim;
    const Scalar* u = unit + static_cast<std::ptrdiff_t>(i) * dim;
    Scalar squares = 0;
    for (int d = tid; d < dim; d += memory_threads) {
      const Scalar value = mu * row[d] + (Scalar(1) - mu) * u[d];
      row[d] = value;
      squares += value * value;
    }
    const Scalar norm = row_math::sqrt(block_sum(squares, scratch));
    for (int d = tid; d < dim; d += memory_threads) row[d] /= norm;
    __syncthreads();
  }
}

}  // namespace ccl::gpu::kernels::baselines
