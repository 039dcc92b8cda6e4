#pragma once
// Row selection on the device for missing teacher rows (ccl/core/row_mask.hpp): which rows are
// not all zero, gather of listed rows into a compact batch, and its adjoint, the scatter-add
// back. Indices are distinct (strictly increasing), so the scatter needs no atomics. Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

/// present[i] = 1 when row i has an entry that is not == 0 (a NaN counts as present, as on the
/// CPU), else 0. One warp per row, 8 rows per 256-thread block.
template <class Scalar>
__global__ void nonzero_rows_kernel(const Scalar* __restrict__ x, std::ptrdiff_t x_stride, int rows,
                                    int cols, int* __restrict__ present) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row = static_cast<int>(blockIdx.x) * 8 + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar* in = x + row * x_stride;
  int any = 0;
  for (int d = lane; d < cols; d += 32) any |= !(in[d] == Scalar(0)) ? 1 : 0;
  any = __any_sync(0xffffffffu, any);
  if (lane == 0) present[row] = any ? 1 : 0;
}

/// target[k, :] = source[rows[k], :] for k < count.
template <class Scalar>
__global__ void gather_rows_kernel(const Scalar* __restrict__ source, std::ptrdiff_t source_stride,
                                   const long long* __restrict__ rows, int count, int cols,
                                   Scalar* __restrict__ target, std::ptrdiff_t target_stride) {
  for_each_element(count, cols, [&](int r, int j) {
    target[r * target_stride + j] = source[rows[r] * source_stride + j];
  });
}

/// target[rows[k], :] += compact[k, :] for k < count (distinct rows: one writer per element).
template <class Scalar>
__global__ void scatter_add_rows_kernel(const Scalar* __restrict__ compact,
                                        std::ptrdiff_t compact_stride,
                                        const long long* __restrict__ rows, int count, int cols,
                                        Scalar* __restrict__ target, std::ptrdiff_t target_stride) {
  for_each_element(count, cols, [&](int r, int j) {
    target[rows[r] * target_stride + j] += compact[r * compact_stride + j];
  });
}

}  // namespace ccl::gpu::kernels
