#pragma once
// Elementwise kernels on [rows, cols] row-major batches with a row stride (any view of device
// memory): sums, scaled accumulation, the converting copy and the bias gradient's column
// sums of nn::Linear. The layers and compositions are memory-bound around their GEMMs, so these
// are plain grid-stride loops with one element per thread and coalesced rows. Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

/// out = a + b.
template <class Scalar>
__global__ void add_rows_kernel(const Scalar* __restrict__ a, std::ptrdiff_t a_stride,
                                const Scalar* __restrict__ b, std::ptrdiff_t b_stride, int rows,
                                int cols, Scalar* __restrict__ out, std::ptrdiff_t out_stride) {
  for_each_element(rows, cols, [&](int i, int j) {
    out[i * out_stride + j] = a[i * a_stride + j] + b[i * b_stride + j];
  });
}

/// out += alpha · x (alpha == 1 adds x unscaled, exactly like the CPU's `out += x`).
template <class Scalar>
__global__ void accumulate_rows_kernel(const Scalar* __restrict__ x, std::ptrdiff_t x_stride,
                                       int rows, int cols, Scalar alpha, Scalar* __restrict__ out,
                                       std::ptrdiff_t out_stride) {
  for_each_element(rows, cols, [&](int i, int j) {
    const Scalar v = x[i * x_stride + j];
    out[i * out_stride + j] += alpha == Scalar(1) ? v : alpha * v;
  });
}

/// out = To(double(x) · scale): the converting copy of dist::average_gradients' double buckets.
template <class From, class To>
__global__ void convert_rows_kernel(const From* __restrict__ x, std::ptrdiff_t x_stride, int rows,
                                    int cols, double scale, To* __restrict__ out,
                                    std::ptrdiff_t out_stride) {
  for_each_element(rows, cols, [&](int i, int j) {
    out[i * out_stride + j] = static_cast<To>(static_cast<double>(x[i * x_stride + j]) * scale);
  });
}

inline constexpr int column_sum_columns = 32;  // columns per block (one warp wide: coalesced)
inline constexpr int column_sum_lanes = 8;     // row lanes per column, reduced in shared memory

/// sums[j] += Σ_i x[i, j]. Block (32, 8): threadIdx.x picks the column within the block's 32,
/// threadIdx.y strides over rows; the 8 partial sums are added in a fixed order, so the result
/// is deterministic. Launch ceil(cols / 32) blocks.
template <class Scalar>
__global__ void column_sums_add_kernel(const Scalar* __restrict__ x, std::ptrdiff_t x_stride,
                                       int rows, int cols, Scalar* __restrict__ sums) {
  __shared__ Scalar partial[column_sum_lanes][column_sum_columns];
  const int j = static_cast<int>(blockIdx.x) * column_sum_columns + static_cast<int>(threadIdx.x);
  Scalar sum = 0;
  if (j < cols) {
    for (int i = static_cast<int>(threadIdx.y); i < rows; i += column_sum_lanes) {
      sum += x[i * x_stride + j];
    }
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    Scalar total = partial[0][threadIdx.x];
    for (int lane = 1; lane < column_sum_lanes; ++lane) total += partial[lane][threadIdx.x];
    sums[j] += total;
  }
}

}  // namespace ccl::gpu::kernels
