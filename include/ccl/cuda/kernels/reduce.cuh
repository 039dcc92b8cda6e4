#pragma once
// Warp and block reductions used by ccl's kernels. Device code only; no Eigen, no host headers
// beyond the CUDA runtime, so that every kernel header stays cheap for nvcc to parse.

#include <cuda_runtime.h>

namespace ccl::gpu::kernels {

inline constexpr unsigned full_warp_mask = 0xffffffffu;

template <class T>
__device__ __forceinline__ T warp_sum(T value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(full_warp_mask, value, offset);
  }
  return value;
}

/// The largest value over the warp (NaN-oblivious: fmax-style, as `max` on floats is).
template <class T>
__device__ __forceinline__ T warp_max(T value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    value = max(value, __shfl_xor_sync(full_warp_mask, value, offset));
  }
  return value;
}

/// Reduces one value per thread of the block with `combine`; every thread gets the result.
/// `scratch` must hold blockDim.x values; the call contains __syncthreads, so every thread of
/// the block must reach it.
template <class T, class Combine>
__device__ T block_reduce(T value, Combine combine, T* scratch) {
  const int tid = static_cast<int>(threadIdx.x);
  scratch[tid] = value;
  __syncthreads();
  for (int width = static_cast<int>(blockDim.x) / 2; width > 0; width /= 2) {
    if (tid < width) scratch[tid] = combine(scratch[tid], scratch[tid + width]);
    __syncthreads();
  }
  const T result = scratch[0];
  __syncthreads();  // scratch may be reused right after
  return result;
}

/// The block's sum (block_reduce with +); the same order of additions on every call.
template <class T>
__device__ T block_sum(T value, T* scratch) {
  return block_reduce(
      value, [](T a, T b) { return a + b; }, scratch);
}

/// The block's largest value (block_reduce with a > b ? a : b).
template <class T>
__device__ T block_max(T value, T* scratch) {
  return block_reduce(
      value, [](T a, T b) { return a > b ? a : b; }, scratch);
}

/// Sums the per-row losses in double; launch one block of `Threads` threads. (A template so that
/// the header can be included by several translation units of one program.)
template <int Threads = 256>
__global__ void __launch_bounds__(Threads)
    sum_row_losses_kernel(const double* __restrict__ row_loss, int batch,
                          double* __restrict__ total) {
  __shared__ double scratch[Threads];
  double sum = 0;
  for (int i = static_cast<int>(threadIdx.x); i < batch; i += Threads) sum += row_loss[i];
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) *total = sum;
}

}  // namespace ccl::gpu::kernels
