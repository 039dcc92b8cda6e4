#pragma once
// Softmax cross-entropy on a [B, C] block of logits (method.md §4.1), one thread block per row:
// max, Σ exp(z - max), then ℓ_i = log Σ exp(z_i - max) + max - z_iy and, when requested,
// grad[i, c] += scale · (softmax(z_i)_c - 1[c = y_i]), the same log-sum-exp form as the CPU's
// log_softmax_row. Eigen-free.

#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

inline constexpr int cross_entropy_threads = 256;

template <class Scalar>
__global__ void __launch_bounds__(cross_entropy_threads)
    cross_entropy_kernel(const Scalar* __restrict__ logits, std::ptrdiff_t stride, int classes,
                         const int* __restrict__ labels, Scalar scale, Scalar* __restrict__ grad,
                         std::ptrdiff_t grad_stride, double* __restrict__ row_loss) {
  __shared__ Scalar scratch[cross_entropy_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const Scalar* z = logits + i * stride;
  Scalar max = -INFINITY;
  for (int c = tid; c < classes; c += cross_entropy_threads) max = z[c] > max ? z[c] : max;
  max = block_max(max, scratch);
  Scalar sum = 0;
  for (int c = tid; c < classes; c += cross_entropy_threads) sum += exp(z[c] - max);
  sum = block_sum(sum, scratch);
  const Scalar log_z = log(sum);
  const int y = labels[i];
  if (tid == 0) row_loss[i] = -(double(z[y] - max) - double(log_z));
  if (grad == nullptr) return;
  Scalar* g = grad + i * grad_stride;
  for (int c = tid; c < classes; c += cross_entropy_threads) {
    const Scalar p = exp(z[c] - max - log_z);
    g[c] += scale * p - (c == y ? scale : Scalar(0));
  }
}

}  // namespace ccl::gpu::kernels
