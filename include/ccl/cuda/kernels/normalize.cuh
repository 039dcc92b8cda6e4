#pragma once
// Row L2 normalisation x̂ = x / max(‖x‖, eps) and its backward pass on the device, with the same
// semantics as ccl/loss/detail/normalize_rows.hpp (PyTorch's F.normalize, eps = 1e-12). One warp
// per row: rows are independent and D is typically a few hundred, so a warp reads a row in a few
// coalesced sweeps. Eigen-free.

#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

inline constexpr int normalize_warps_per_block = 8;

/// unit[i, :] = x[i, :] / norm_i (unit is contiguous [rows, cols]), norms[i] = max(‖x_i‖, eps).
template <class Scalar>
__global__ void normalize_rows_kernel(const Scalar* __restrict__ x, std::ptrdiff_t x_stride,
                                      int rows, int cols, Scalar eps, Scalar* __restrict__ unit,
                                      Scalar* __restrict__ norms) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row =
      static_cast<int>(blockIdx.x) * normalize_warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar* in = x + row * x_stride;
  Scalar squares = 0;
  for (int d = lane; d < cols; d += 32) squares += in[d] * in[d];
  squares = warp_sum(squares);
  Scalar* out = unit + static_cast<std::ptrdiff_t>(row) * cols;
  if (!isfinite(squares)) {
    // The squares of a finite row overflowed (elements beyond ~1e19 in float): scale by the
    // largest magnitude first, as the CPU's normalize_row does. Non-finite rows fall through.
    Scalar largest = 0;
    for (int d = lane; d < cols; d += 32) largest = max(largest, abs(in[d]));
    largest = warp_max(largest);
    if (isfinite(largest)) {
      Scalar scaled = 0;
      for (int d = lane; d < cols; d += 32) {
        const Scalar v = in[d] / largest;
        scaled += v * v;
      }
      scaled = sqrt(warp_sum(scaled));
      for (int d = lane; d < cols; d += 32) out[d] = in[d] / largest / scaled;
      if (lane == 0) norms[row] = largest * scaled;
      return;
    }
  }
  const Scalar norm = max(sqrt(squares), eps);
  for (int d = lane; d < cols; d += 32) out[d] = in[d] / norm;
  if (lane == 0) norms[row] = norm;
}

/// grad_x[i, :] += weight / norm_i * (gu - x̂ (x̂ · gu)), or weight / eps * gu where the norm was
/// clamped; unit and grad_unit are contiguous, grad_x may be strided.
template <class Scalar>
__global__ void normalize_rows_backward_kernel(const Scalar* __restrict__ unit,
                                               const Scalar* __restrict__ norms,
                                               const Scalar* __restrict__ grad_unit, int rows,
                                               int cols, Scalar eps, Scalar weight,
                                               Scalar* __restrict__ grad_x,
                                               std::ptrdiff_t grad_stride) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row =
      static_cast<int>(blockIdx.x) * normalize_warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar* u = unit + static_cast<std::ptrdiff_t>(row) * cols;
  const Scalar* gu = grad_unit + static_cast<std::ptrdiff_t>(row) * cols;
  const Scalar norm = norms[row];
  Scalar radial = 0;
  if (norm > eps) {
    for (int d = lane; d < cols; d += 32) radial += u[d] * gu[d];
    radial = warp_sum(radial);
  }
  const Scalar scale = weight / norm;
  Scalar* out = grad_x + row * grad_stride;
  for (int d = lane; d < cols; d += 32) out[d] += scale * (gu[d] - radial * u[d]);
}

}  // namespace ccl::gpu::kernels
