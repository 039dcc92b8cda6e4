#pragma once
// Kernels of the relational baselines on the GPU (PKT, IFD, RKD's distance term): everything
// around the B x B Gram matrices that cuBLAS computes. B x B is materialised, as on the CPU:
// these losses see training batches (16-256 rows), not the contrastive losses' tens of thousands.
//   row_norms_kernel          ‖x_i‖², ‖x_i‖ and optionally u_i = x_i / (‖x_i‖ + eps)   (warp/row)
//   add_norms_kernel          sq_ij = (-2 x_i·x_j) + ‖x_i‖² + ‖x_j‖²                   (in place)
//   probabilities_kernel      K from the Gram/distance entry, row sums r, P = K / r   (block/row)
//   probability_loss_kernel   PKT or IFD terms of (P^s, P^t) and dL/dP for both sides  (block/row)
//   probability_backward_kernel  dL/dK = (G - Σ G⊙P) / r, then dL/dsq for Student-t  (block/row)
//   symmetrize_kernel         S = scale (H + Hᵀ), diag = rowsum(H) + colsum(H)   (block/row,
//   batched) add_scaled_rows_kernel    out_i += alpha · diag_i · x_i (warp/row)
//   cosine_rows_backward_kernel  the backward pass of u = x / (‖x‖ + eps)             (warp/row)
// The element formulas are in baselines_math.cuh. Eigen-free.

#include <ccl/cuda/kernels/baselines_math.cuh>
#include <ccl/cuda/kernels/grid_stride.cuh>
#include <ccl/cuda/kernels/math.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels::baselines {

inline constexpr int pair_threads = 128;   ///< threads of the block-per-row kernels
inline constexpr int warps_per_block = 8;  ///< rows per block of the warp-per-row kernels

enum class ProbabilityLoss { pkt, ifd };

template <class Scalar>
__global__ void row_norms_kernel(const Scalar* __restrict__ x, std::ptrdiff_t stride, int rows,
                                 int cols, Scalar eps, Scalar* __restrict__ norms,
                                 Scalar* __restrict__ norms2, Scalar* __restrict__ unit) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row =
      static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar* in = x + row * stride;
  Scalar squares = 0;
  for (int d = lane; d < cols; d += 32) squares += in[d] * in[d];
  squares = warp_sum(squares);
  const Scalar norm = row_math::sqrt(squares);
  if (lane == 0) {
    if (norms != nullptr) norms[row] = norm;
    if (norms2 != nullptr) norms2[row] = squares;
  }
  if (unit == nullptr) return;
  const Scalar inverse = Scalar(1) / (norm + eps);
  Scalar* out = unit + static_cast<std::ptrdiff_t>(row) * cols;
  for (int d = lane; d < cols; d += 32) out[d] = inverse * in[d];
}

template <class Scalar>
__global__ void add_norms_kernel(Scalar* __restrict__ sq, const Scalar* __restrict__ norms2,
                                 int b) {
  const long long total = static_cast<long long>(b) * b;
  for_each_index(total, [&](long long k) {
    const int i = static_cast<int>(k / b);
    const int j = static_cast<int>(k % b);
    sq[k] = (sq[k] + norms2[i]) + norms2[j];
  });
}

/// `g` holds u_i·u_j (cosine) or sq_ij (Student-t); writes K, P = K · (1/r) and r.
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    probabilities_kernel(const Scalar* __restrict__ g, int b, bool cosine, Scalar eps,
                         Scalar* __restrict__ k, Scalar* __restrict__ p,
                         Scalar* __restrict__ row_sum) {
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * b;
  Scalar sum = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar value = cosine ? cosine_kernel(g[base + j]) : student_t_kernel(g[base + j], eps);
    k[base + j] = value;
    sum += value;
  }
  sum = block_sum(sum, scratch);
  const Scalar inverse = Scalar(1) / sum;
  for (int j = tid; j < b; j += pair_threads) p[base + j] = inverse * k[base + j];
  if (tid == 0) row_sum[i] = sum;
}

/// Row i of the PKT or IFD term; `constant` is eps (PKT) or the clamp `tiny` (IFD). Writes the
/// row's loss (before 1/B²) and dL/dP^s, dL/dP^t where those outputs are non-null.
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    probability_loss_kernel(const Scalar* __restrict__ ps, const Scalar* __restrict__ pt, int b,
                            ProbabilityLoss loss, Scalar constant, Scalar inv_b2,
                            Scalar* __restrict__ grad_ps, Scalar* __restrict__ grad_pt,
                            double* __restrict__ row_loss) {
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * b;
  Scalar sum = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const ElementTerms<Scalar> t = loss == ProbabilityLoss::pkt
                                       ? pkt_terms(ps[base + j], pt[base + j], constant, inv_b2)
                                       : ifd_terms(ps[base + j], pt[base + j], constant, inv_b2);
    sum += t.value;
    if (grad_ps != nullptr) grad_ps[base + j] = t.grad_student;
    if (grad_pt != nullptr) grad_pt[base + j] = t.grad_teacher;
  }
  sum = block_sum(sum, scratch);
  if (tid == 0) row_loss[i] = double(sum);
}

/// dL/dK_ij = (G_ij - Σ_k G_ik P_ik) / r_i, written over `grad` (which holds G = dL/dP on entry);
/// for the Student-t kernel it continues to dL/dsq (g holds sq).
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    probability_backward_kernel(Scalar* __restrict__ grad, const Scalar* __restrict__ p,
                                const Scalar* __restrict__ g, const Scalar* __restrict__ row_sum,
                                int b, bool cosine, Scalar eps) {
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(i) * b;
  Scalar inner = 0;
  for (int j = tid; j < b; j += pair_threads) inner += grad[base + j] * p[base + j];
  inner = block_sum(inner, scratch);
  const Scalar inverse = Scalar(1) / row_sum[i];
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar grad_k = inverse * (grad[base + j] - inner);
    grad[base + j] = cosine ? grad_k : student_t_grad_sq(grad_k, g[base + j], eps);
  }
}

/// S = scale (H + Hᵀ) and, when diag is non-null, diag_i = rowsum(H)_i + colsum(H)_i; one block
/// per row, blockIdx.y selects the matrix of a batch of B x B matrices stored back to back.
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    symmetrize_kernel(const Scalar* __restrict__ h, int b, Scalar scale, Scalar* __restrict__ sym,
                      Scalar* __restrict__ diag) {
  __shared__ Scalar scratch[pair_threads];
  const int i = static_cast<int>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const std::ptrdiff_t matrix = static_cast<std::ptrdiff_t>(blockIdx.y) * b * b;
  const Scalar* m = h + matrix;
  Scalar rows = 0, cols = 0;
  for (int j = tid; j < b; j += pair_threads) {
    const Scalar a = m[static_cast<std::ptrdiff_t>(i) * b + j];
    const Scalar t = m[static_cast<std::ptrdiff_t>(j) * b + i];
    sym[matrix + static_cast<std::ptrdiff_t>(i) * b + j] = (a + t) * scale;
    rows += a;
    cols += t;
  }
  if (diag == nullptr) return;  // uniform across the block: no thread skips a __syncthreads
  rows = block_sum(rows, scratch);
  cols = block_sum(cols, scratch);
  if (tid == 0) diag[i] = rows + cols;
}

/// out_i += alpha · (diag_i · x_i).
template <class Scalar>
__global__ void add_scaled_rows_kernel(const Scalar* __restrict__ x, std::ptrdiff_t stride,
                                       int rows, int cols, const Scalar* __restrict__ diag,
                                       Scalar alpha, Scalar* __restrict__ out,
                                       std::ptrdiff_t out_stride) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row =
      static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar factor = diag[row];
  for (int d = lane; d < cols; d += 32)
    out[row * out_stride + d] += alpha * (factor * x[row * stride + d]);
}

/// u = x / (n + eps): out_i += weight · (gu_i / d - x_i (x_i·gu_i) / (n d²)), d = n + eps, the
/// second term only where n > 0 (probability_kernels.hpp). grad_u is contiguous [rows, cols].
template <class Scalar>
__global__ void cosine_rows_backward_kernel(const Scalar* __restrict__ x, std::ptrdiff_t stride,
                                            int rows, int cols, const Scalar* __restrict__ norms,
                                            Scalar eps, const Scalar* __restrict__ grad_u,
                                            Scalar weight, Scalar* __restrict__ out,
                                            std::ptrdiff_t out_stride) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row =
      static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;
  const Scalar* in = x + row * stride;
  const Scalar* gu = grad_u + static_cast<std::ptrdiff_t>(row) * cols;
  const Scalar n = norms[row];
  const Scalar d = n + eps;
  Scalar dot = 0;
  for (int c = lane; c < cols; c += 32) dot += in[c] * gu[c];
  dot = warp_sum(dot);
  const Scalar radial = n > Scalar(0) ? dot / (n * d * d) : Scalar(0);
  for (int c = lane; c < cols; c += 32) {
    Scalar g = gu[c] / d;
    if (n > Scalar(0)) g -= in[c] * radial;
    out[row * out_stride + c] += weight * g;
  }
}

/// Sums `count` scalars in one block and writes (sum / divisor), or `fallback` when divisor is 0
/// (RKD's mean distance and its through-the-mean gradient term).
template <class Scalar>
__global__ void __launch_bounds__(pair_threads)
    mean_kernel(const Scalar* __restrict__ values, int count, Scalar divisor, Scalar fallback,
                Scalar* __restrict__ out) {
  __shared__ Scalar scratch[pair_threads];
  Scalar sum = 0;
  for (int k = static_cast<int>(threadIdx.x); k < count; k += pair_threads) sum += values[k];
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) *out = divisor != Scalar(0) ? sum / divisor : fallback;
}

}  // namespace ccl::gpu::kernels::baselines
