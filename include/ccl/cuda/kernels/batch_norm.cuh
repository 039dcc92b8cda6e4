#pragma once
// The parts of the device BatchNorm that cuDNN does not cover: eval-mode statistics (the
// running ones, snapshotted at forward time so that backward uses what normalised the batch)
// and the eval-mode backward pass, where the statistics are constants:
//   dx += γ · inv_std · dy,   dγ += Σ dy · (x − μ) · inv_std,   dβ += Σ dy.
// Eigen-free.

#include <cuda_runtime.h>

#include <ccl/cuda/kernels/reduce.cuh>

namespace ccl::gpu::nn_kernels {

/// saved = [μ_run | 1 / sqrt(σ²_run + eps)] for `channels` channels (computed in double, as the
/// CPU layer does).
template <class Scalar>
__global__ void batch_norm_eval_stats_kernel(const Scalar* __restrict__ running_mean,
                                             const Scalar* __restrict__ running_var, double eps,
                                             int channels, Scalar* __restrict__ saved) {
  for (int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); c < channels;
       c += static_cast<int>(gridDim.x * blockDim.x)) {
    saved[c] = running_mean[c];
    saved[channels + c] = Scalar(1.0 / sqrt(double(running_var[c]) + eps));
  }
}

/// One block per channel c of x, dy: [batch, channels, positions]. `gamma` may be null (γ = 1),
/// `dx`, `dgamma`/`dbeta` null when not wanted. `saved` is [μ | inv_std].
template <class Scalar, int Threads = 256>
__global__ void __launch_bounds__(Threads)
    batch_norm_eval_backward_kernel(const Scalar* __restrict__ x, const Scalar* __restrict__ dy,
                                    const Scalar* __restrict__ saved,
                                    const Scalar* __restrict__ gamma, long long batch, int channels,
                                    long long positions, Scalar* __restrict__ dx,
                                    Scalar* __restrict__ dgamma, Scalar* __restrict__ dbeta) {
  __shared__ double scratch[Threads];
  const int c = static_cast<int>(blockIdx.x);
  const Scalar mean = saved[c], inv_std = saved[channels + c];
  const Scalar scale = (gamma != nullptr ? gamma[c] : Scalar(1)) * inv_std;
  const long long count = batch * positions;
  double sum_dy = 0, sum_dy_xhat = 0;
  for (long long k = threadIdx.x; k < count; k += Threads) {
    const long long n = k / positions, p = k - n * positions;
    const long long i = (n * channels + c) * positions + p;
    const Scalar g = dy[i];
    sum_dy += double(g);
    sum_dy_xhat += double(g) * double((x[i] - mean) * inv_std);
    if (dx != nullptr) dx[i] += scale * g;
  }
  if (dgamma == nullptr) return;  // uniform across the block: no thread waits in block_reduce
  sum_dy = kernels::block_sum(sum_dy, scratch);
  sum_dy_xhat = kernels::block_sum(sum_dy_xhat, scratch);
  if (threadIdx.x == 0) {
    dgamma[c] += Scalar(sum_dy_xhat);
    dbeta[c] += Scalar(sum_dy);
  }
}

}  // namespace ccl::gpu::nn_kernels
