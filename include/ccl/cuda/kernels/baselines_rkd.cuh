#pragma once
// Kernels of RKD on the GPU (ccl/loss/baselines/rkd.hpp).
//   distance term: rkd_distances_kernel (d = sqrt(max(sq, 1e-12)), d_ii = 0, row sums),
//     rkd_distance_loss_kernel (SmoothL1 of d^s/μ_s - d^t/μ_t, G, Σ_j G⊙dn per row),
//     rkd_grad_sq_kernel (dL/dsq through the normalisation by the mean μ).
//   angle term, for a chunk of anchors a0 .. a0 + chunk - 1 at once (the CPU does one anchor at
//     a time): rkd_directions_kernel (u_ab = (x_b - x_a) / max(‖x_b - x_a‖, 1e-12)), cuBLAS
//     batched GEMMs for cos = U Uᵀ and (G + Gᵀ) U, rkd_angle_loss_kernel,
//     rkd_direction_backward_kernel (the normalisation's backward, in place) and
//     rkd_angle_scatter_kernel (+gv to row b, -Σ gv to the anchor row, without atomics).
// Eigen-free.

#include <ccl/cuda/kernels/baselines_math.cuh>
#include <ccl/cuda/kernels/baselines_pairwise.cuh>
#include <ccl/cuda/kernels/grid_stride.cuh>
#include <ccl/cuda/kernels/math.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels::baselines {

template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    rkd_distances_kernel(const Scalar* __restrict__ sq, int b, Scalar clamp, Scalar* __restrict__ d,
                         Scalar* __restrict__ row_sums) {
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * b;
  Scalar sum = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar value = i == j ? Scalar(0) : row_math::sqrt(row_math::max(sq[base + j], clamp));
    d[base + j] = value;
    sum += value;
  }
  sum = block_sum(sum, scratch);
  if (tid == 0) row_sums[i] = sum;
}

/// Row i: diff = d^s/μ_s - d^t/μ_t; row loss Σ SmoothL1(diff) (double); G = SmoothL1'(diff) · wd
/// (written over d_s's row is not allowed: separate `g`); Σ_j G⊙dn for each side.
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    rkd_distance_loss_kernel(const Scalar* __restrict__ ds, const Scalar* __restrict__ dt, int b,
                             const Scalar* __restrict__ mean_s, const Scalar* __restrict__ mean_t,
                             Scalar wd, Scalar* __restrict__ g, Scalar* __restrict__ through_s,
                             Scalar* __restrict__ through_t, double* __restrict__ row_loss) {
  __shared__ double loss_scratch[pair_threads];
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * b;
  const Scalar ms = *mean_s;
  const Scalar mt = *mean_t;
  double loss = 0;
  Scalar sum_s = 0, sum_t = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar dn_s = ds[base + j] / ms;
    const Scalar dn_t = dt[base + j] / mt;
    const Scalar diff = dn_s - dn_t;
    loss += double(smooth_l1(diff));
    const Scalar grad = smooth_l1_grad(diff) * wd;
    g[base + j] = grad;
    sum_s += grad * dn_s;
    sum_t += grad * dn_t;
  }
  loss = block_sum(loss, loss_scratch);
  sum_s = block_sum(sum_s, scratch);
  sum_t = block_sum(sum_t, scratch);
  if (tid == 0) {
    row_loss[i] = loss;
    through_s[i] = sum_s;
    through_t[i] = sum_t;
  }
}

/// dL/dsq_ij = (G_ij - τ) / μ / (2 max(d_ij, clamp)) where sq_ij > clamp, 0 elsewhere and on the
/// diagonal; τ = Σ G⊙dn / (B(B-1)).
template <class Scalar>
__global__ void rkd_grad_sq_kernel(const Scalar* __restrict__ g, const Scalar* __restrict__ sq,
                                   const Scalar* __restrict__ d, int b,
                                   const Scalar* __restrict__ mean,
                                   const Scalar* __restrict__ through_mean, Scalar clamp,
                                   Scalar* __restrict__ grad_sq) {
  const long long total = static_cast<long long>(b) * b;
  const Scalar mu = *mean;
  const Scalar tau = *through_mean;
  for_each_index(total, [&](long long k) {
    const bool diagonal = k / b == k % b;
    const Scalar value = (g[k] - tau) / mu / (Scalar(2) * row_math::max(d[k], clamp)) *
                         (sq[k] > clamp ? Scalar(1) : Scalar(0));
    grad_sq[k] = diagonal ? Scalar(0) : value;
  });
}

/// Warp per (c, r), c < chunk: e = x_r - x_{a0+c}, norms[c·B + r] = ‖e‖,
/// unit[(c·B + r), :] = e / max(‖e‖, eps).
template <class Scalar>
__global__ void rkd_directions_kernel(const Scalar* __restrict__ x, std::ptrdiff_t stride, int b,
                                      int cols, int a0, int chunk, Scalar eps,
                                      Scalar* __restrict__ unit, Scalar* __restrict__ norms) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int item =
      static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (item >= chunk * b) return;
  const int c = item / b;
  const int r = item % b;
  const Scalar* row = x + r * stride;
  const Scalar* anchor = x + (a0 + c) * stride;
  Scalar squares = 0;
  for (int d = lane; d < cols; d += 32) {
    const Scalar e = row[d] - anchor[d];
    squares += e * e;
  }
  squares = warp_sum(squares);
  const Scalar norm = row_math::sqrt(squares);
  const Scalar denominator = row_math::max(norm, eps);
  Scalar* out = unit + static_cast<std::ptrdiff_t>(item) * cols;
  for (int d = lane; d < cols; d += 32) out[d] = (row[d] - anchor[d]) / denominator;
  if (lane == 0) norms[item] = norm;
}

/// Block per (c, i): diff = cos^s - cos^t over j; row_loss[(a0 + c)·B + i] = Σ SmoothL1(diff);
/// g (may alias cos_s) = SmoothL1'(diff) · wa, or nothing when g is null.
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    rkd_angle_loss_kernel(const Scalar* cos_s, const Scalar* __restrict__ cos_t, int b, Scalar wa,
                          Scalar* g, double* __restrict__ row_loss) {
  __shared__ double scratch[pair_threads];
  const int item = static_cast<int>(blockIdx.x);  // c·B + i
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(item) * b;
  double loss = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar diff = cos_s[base + j] - cos_t[base + j];
    loss += double(smooth_l1(diff));
    if (g != nullptr) g[base + j] = smooth_l1_grad(diff) * wa;
  }
  loss = block_sum(loss, scratch);
  if (tid == 0) row_loss[item] = loss;
}

/// Warp per (c, r): replaces grad_u[(c·B + r), :] by the gradient with respect to the difference
/// x_r - x_a: (gu - u (u·gu)) / ‖e‖, or gu / eps where the norm clamps; zero for r = a (u_aa is
/// the constant zero vector, whose contributions cancel on the CPU).
template <class Scalar>
__global__ void rkd_direction_backward_kernel(const Scalar* __restrict__ unit,
                                              const Scalar* __restrict__ norms,
                                              Scalar* __restrict__ grad_u, int b, int cols, int a0,
                                              int chunk, Scalar eps) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int item =
      static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (item >= chunk * b) return;
  const int c = item / b;
  const int r = item % b;
  const Scalar* u = unit + static_cast<std::ptrdiff_t>(item) * cols;
  Scalar* gu = grad_u + static_cast<std::ptrdiff_t>(item) * cols;
  if (r == a0 + c) {
    for (int d = lane; d < cols; d += 32) gu[d] = Scalar(0);
    return;
  }
  const Scalar norm = norms[item];
  if (norm > eps) {
    Scalar dot = 0;
    for (int d = lane; d < cols; d += 32) dot += u[d] * gu[d];
    dot = warp_sum(dot);
    for (int d = lane; d < cols; d += 32) gu[d] = (gu[d] - u[d] * dot) / norm;
  } else {
    for (int d = lane; d < cols; d += 32) gu[d] = gu[d] / eps;
  }
}

/// Thread per (r, d): out[r, d] += sign · (Σ_c gv[c, r, d] - [r is an anchor of the chunk]
/// Σ_b gv[r - a0, b, d]).
template <class Scalar>
__global__ void rkd_angle_scatter_kernel(const Scalar* __restrict__ gv, int b, int cols, int a0,
                                         int chunk, Scalar sign, Scalar* __restrict__ out,
                                         std::ptrdiff_t out_stride) {
  const long long total = static_cast<long long>(b) * cols;
  for_each_index(total, [&](long long k) {
    const int r = static_cast<int>(k / cols);
    const int d = static_cast<int>(k % cols);
    Scalar acc = 0;
    for (int c = 0; c < chunk; ++c) acc += gv[(static_cast<std::ptrdiff_t>(c) * b + r) * cols + d];
    if (r >= a0 && r < a0 + chunk) {
      const std::ptrdiff_t block = static_cast<std::ptrdiff_t>(r - a0) * b;
      for (int q = 0; q < b; ++q) acc -= gv[(block + q) * cols + d];
    }
    out[r * out_stride + d] += sign * acc;
  });
}

}  // namespace ccl::gpu::kernels::baselines
