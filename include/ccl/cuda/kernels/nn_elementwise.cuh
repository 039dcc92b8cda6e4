#pragma once
// Element-wise kernels of the device layers of ccl::nn (ReLU, residual sums, Flatten/Identity
// gradients, Dropout masks, global average pooling). Grid-stride loops over `count` elements, so
// any launch size covers any tensor. Eigen-free; 64-bit element indices (video activations exceed
// 2^31 elements at large batches).

#include <cuda_runtime.h>

#include <ccl/cuda/kernels/grid_stride.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

namespace ccl::gpu::nn_kernels {

/// y = max(x, 0).
template <class Scalar>
__global__ void relu_forward_kernel(const Scalar* __restrict__ x, Scalar* __restrict__ y,
                                    long long count) {
  kernels::for_each_index(count, [&](long long i) {
    const Scalar v = x[i];
    // max(NaN, 0) is NaN in PyTorch and in Eigen's cwiseMax with x first: keep NaN.
    y[i] = v > Scalar(0) || v != v ? v : Scalar(0);
  });
}

/// dx += dy where y > 0 (the derivative at 0 is 0, as in PyTorch).
template <class Scalar>
__global__ void relu_backward_kernel(const Scalar* __restrict__ y, const Scalar* __restrict__ dy,
                                     Scalar* __restrict__ dx, long long count) {
  kernels::for_each_index(count, [&](long long i) {
    if (y[i] > Scalar(0)) dx[i] += dy[i];
  });
}

/// out = a + b.
template <class Scalar>
__global__ void add_kernel(const Scalar* __restrict__ a, const Scalar* __restrict__ b,
                           Scalar* __restrict__ out, long long count) {
  kernels::for_each_index(count, [&](long long i) { out[i] = a[i] + b[i]; });
}

/// dst += src.
template <class Scalar>
__global__ void accumulate_kernel(const Scalar* __restrict__ src, Scalar* __restrict__ dst,
                                  long long count) {
  kernels::for_each_index(count, [&](long long i) { dst[i] += src[i]; });
}

/// y = x * mask (Dropout forward).
template <class Scalar>
__global__ void multiply_kernel(const Scalar* __restrict__ x, const Scalar* __restrict__ mask,
                                Scalar* __restrict__ y, long long count) {
  kernels::for_each_index(count, [&](long long i) { y[i] = x[i] * mask[i]; });
}

/// dx += dy * mask (Dropout backward).
template <class Scalar>
__global__ void multiply_accumulate_kernel(const Scalar* __restrict__ dy,
                                           const Scalar* __restrict__ mask, Scalar* __restrict__ dx,
                                           long long count) {
  kernels::for_each_index(count, [&](long long i) { dx[i] += dy[i] * mask[i]; });
}

/// y[row] = mean of x[row, 0:positions): one block per row of the [rows, positions] input,
/// accumulated in double.
template <class Scalar, int Threads = 256>
__global__ void __launch_bounds__(Threads)
    row_mean_kernel(const Scalar* __restrict__ x, long long positions, Scalar* __restrict__ y) {
  __shared__ double scratch[Threads];
  const Scalar* row = x + static_cast<long long>(blockIdx.x) * positions;
  double sum = 0;
  for (long long p = threadIdx.x; p < positions; p += Threads) sum += double(row[p]);
  sum = kernels::block_sum(sum, scratch);
  if (threadIdx.x == 0) y[blockIdx.x] = Scalar(sum / double(positions));
}

/// dx[row, p] += dy[row] / positions (the gradient of row_mean_kernel).
template <class Scalar>
__global__ void row_mean_backward_kernel(const Scalar* __restrict__ dy, long long positions,
                                         Scalar* __restrict__ dx, long long count) {
  kernels::for_each_index(count,
                          [&](long long i) { dx[i] += dy[i / positions] / Scalar(positions); });
}

}  // namespace ccl::gpu::nn_kernels
