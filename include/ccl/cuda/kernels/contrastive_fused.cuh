#pragma once
// ccl's fused kernels for the row-softmax contrastive losses. Nothing of size B x B is stored:
// every kernel walks 32 x 32 similarity tiles (similarity_tile.cuh), recomputing them on chip,
// and keeps per-row state in registers and O(B) arrays:
//
//   fused_stats_kernel     pass 1 of contrastive_rows.cuh over a slice of the columns;
//                          merge_stats_kernel folds the slices (online log-sum-exp merge)
//   fused_terms_kernel     pass 2 (multi-class only); merge_terms_kernel folds and yields ℓ_i
//   fused_gradient_kernel  pass 3: dℓ/ds for a tile, immediately contracted with ĝ (grad of f̂,
//                          one block per row tile) or with f̂ (grad of ĝ, one block per column
//                          tile), so each output row has one writer and no atomics are needed.
//
// Splitting the columns of passes 1-2 over gridDim.y keeps the GPU busy when B / 32 row tiles
// are fewer than its multiprocessors. Eigen-free.

#include <ccl/cuda/kernels/contrastive_rows.cuh>
#include <ccl/cuda/kernels/reduce.cuh>
#include <ccl/cuda/kernels/similarity_tile.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

template <class Scalar>
__device__ inline RowStats<Scalar> shuffle_xor(const RowStats<Scalar>& v, int offset) {
  RowStats<Scalar> out;
  out.max = __shfl_xor_sync(full_warp_mask, v.max, offset);
  out.runner_up = __shfl_xor_sync(full_warp_mask, v.runner_up, offset);
  out.sum_exp = __shfl_xor_sync(full_warp_mask, v.sum_exp, offset);
  out.sum_pos = __shfl_xor_sync(full_warp_mask, v.sum_pos, offset);
  out.top = __shfl_xor_sync(full_warp_mask, v.top, offset);
  return out;
}

template <class Scalar>
__device__ inline RowTerms<Scalar> shuffle_xor(const RowTerms<Scalar>& v, int offset) {
  RowTerms<Scalar> out;
  out.log1m_neg = __shfl_xor_sync(full_warp_mask, v.log1m_neg, offset);
  out.ratio_sum = __shfl_xor_sync(full_warp_mask, v.ratio_sum, offset);
  out.rest = __shfl_xor_sync(full_warp_mask, v.rest, offset);
  out.log_pos = __shfl_xor_sync(full_warp_mask, v.log_pos, offset);
  out.coef_dot = __shfl_xor_sync(full_warp_mask, v.coef_dot, offset);
  return out;
}

/// Column tiles [first, last) handled by this block of a pass-1/2 launch.
struct ColumnSlice {
  int first;
  int last;
};
__device__ inline ColumnSlice column_slice(int batch, int tiles_per_slice) {
  const int tiles = (batch + tile_size - 1) / tile_size;
  const int first = static_cast<int>(blockIdx.y) * tiles_per_slice;
  return {first, min(tiles, first + tiles_per_slice)};
}

/// Pass 1. Grid (row tiles, column slices); writes partial[slice * batch + i].
template <class Scalar, bool Tf32>
__global__ void __launch_bounds__(tile_threads)
    fused_stats_kernel(const Scalar* __restrict__ f_unit, const Scalar* __restrict__ g_unit,
                       int batch, int dim, Scalar inv_tau, const int* __restrict__ ids,
                       int tiles_per_slice, RowStats<Scalar>* __restrict__ partial) {
  __shared__ TileShared<Scalar> sh;
  const int row0 = static_cast<int>(blockIdx.x) * tile_size;
  const int i = row0 + tile_row();
  const int my_class = i < batch ? ids[i] : -1;
  const ColumnSlice slice = column_slice(batch, tiles_per_slice);
  RowStats<Scalar> st = empty_stats<Scalar>();
  for (int t = slice.first; t < slice.last; ++t) {
    const int col0 = t * tile_size;
    similarity_tile<Scalar, Tf32>(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
    for (int q = 0; q < 4; ++q) {
      const int j = col0 + tile_col(q);
      if (i < batch && j < batch)
        stats_update(st, sh.s[tile_row()][tile_col(q)], j, ids[j] == my_class);
    }
    __syncthreads();  // sh.s is rewritten by the next tile
  }
  // The 8 threads of a row are 8 consecutive lanes of one warp.
  for (int offset = 4; offset > 0; offset /= 2) st = stats_combine(st, shuffle_xor(st, offset));
  if (threadIdx.x % 8 == 0 && i < batch) {
    partial[static_cast<std::ptrdiff_t>(blockIdx.y) * batch + i] = st;
  }
}

/// Folds the column slices of pass 1; for instance NCE it also finishes ℓ_i.
template <class Scalar>
__global__ void merge_stats_kernel(const RowStats<Scalar>* __restrict__ partial, int slices,
                                   int batch, RowMode mode, const int* __restrict__ ids,
                                   const int* __restrict__ positives,
                                   RowStats<Scalar>* __restrict__ stats,
                                   RowFinal<Scalar>* __restrict__ final_rows,
                                   double* __restrict__ row_loss) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= batch) return;
  RowStats<Scalar> st = partial[i];
  for (int k = 1; k < slices; ++k)
    st = stats_combine(st, partial[static_cast<std::ptrdiff_t>(k) * batch + i]);
  RowFinal<Scalar> fin =
      finish_stats(st, positives[i], batch - positives[i], ids[st.top] == ids[i]);
  if (mode == RowMode::instance) row_loss[i] = finish_row(fin, st, RowTerms<Scalar>{}, mode);
  stats[i] = st;
  final_rows[i] = fin;
}

/// Pass 2. Grid (row tiles, column slices); writes partial[slice * batch + i].
template <class Scalar, bool Tf32>
__global__ void __launch_bounds__(tile_threads)
    fused_terms_kernel(const Scalar* __restrict__ f_unit, const Scalar* __restrict__ g_unit,
                       int batch, int dim, Scalar inv_tau, RowMode mode,
                       const int* __restrict__ ids, const RowFinal<Scalar>* __restrict__ final_rows,
                       int tiles_per_slice, RowTerms<Scalar>* __restrict__ partial) {
  __shared__ TileShared<Scalar> sh;
  const int row0 = static_cast<int>(blockIdx.x) * tile_size;
  const int i = row0 + tile_row();
  const bool row_ok = i < batch;
  const int my_class = row_ok ? ids[i] : -1;
  const RowFinal<Scalar> fin = row_ok ? final_rows[i] : RowFinal<Scalar>{};
  const ColumnSlice slice = column_slice(batch, tiles_per_slice);
  RowTerms<Scalar> terms{};
  for (int t = slice.first; t < slice.last; ++t) {
    const int col0 = t * tile_size;
    similarity_tile<Scalar, Tf32>(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
    for (int q = 0; q < 4; ++q) {
      const int j = col0 + tile_col(q);
      if (row_ok && j < batch) {
        terms_update(terms, fin, mode, sh.s[tile_row()][tile_col(q)], j, ids[j] == my_class);
      }
    }
    __syncthreads();
  }
  for (int offset = 4; offset > 0; offset /= 2)
    terms = terms_combine(terms, shuffle_xor(terms, offset));
  if (threadIdx.x % 8 == 0 && row_ok) {
    partial[static_cast<std::ptrdiff_t>(blockIdx.y) * batch + i] = terms;
  }
}

/// Folds the column slices of pass 2 and finishes ℓ_i and the row constants of pass 3.
template <class Scalar>
__global__ void merge_terms_kernel(const RowTerms<Scalar>* __restrict__ partial, int slices,
                                   int batch, RowMode mode,
                                   const RowStats<Scalar>* __restrict__ stats,
                                   RowFinal<Scalar>* __restrict__ final_rows,
                                   double* __restrict__ row_loss) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= batch) return;
  RowTerms<Scalar> terms = partial[i];
  for (int k = 1; k < slices; ++k)
    terms = terms_combine(terms, partial[static_cast<std::ptrdiff_t>(k) * batch + i]);
  RowFinal<Scalar> fin = final_rows[i];
  row_loss[i] = finish_row(fin, stats[i], terms, mode);
  final_rows[i] = fin;
}

/// Pass 3 fused with the gradient contraction. ForRows = true: one block per row tile writes
/// grad_f_unit[rows] += Σ_j c_ij ĝ_j; ForRows = false: one block per column tile writes
/// grad_g_unit[cols] += Σ_i c_ij f̂_i. c_ij = gradient_scale * dℓ_i/ds_ij. Outputs are
/// contiguous [B, D] and must be zeroed before the launch.
template <class Scalar, bool Tf32, bool ForRows>
__global__ void __launch_bounds__(tile_threads)
    fused_gradient_kernel(const Scalar* __restrict__ f_unit, const Scalar* __restrict__ g_unit,
                          int batch, int dim, Scalar inv_tau, RowMode mode,
                          const int* __restrict__ ids,
                          const RowFinal<Scalar>* __restrict__ final_rows, Scalar gradient_scale,
                          Scalar* __restrict__ out) {
  __shared__ TileShared<Scalar> sh;
  const int tiles = (batch + tile_size - 1) / tile_size;
  const int owned0 = static_cast<int>(blockIdx.x) * tile_size;  // first owned row (or column)
  const int owned = min(tile_size, batch - owned0);
  const Scalar* partner = ForRows ? g_unit : f_unit;  // the operand the coefficients multiply
  for (int t = 0; t < tiles; ++t) {
    const int row0 = ForRows ? owned0 : t * tile_size;
    const int col0 = ForRows ? t * tile_size : owned0;
    similarity_tile<Scalar, Tf32>(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
    const int i = row0 + tile_row();
    if (i < batch) {
      const int my_class = ids[i];
      const RowFinal<Scalar> fin = final_rows[i];
      for (int q = 0; q < 4; ++q) {
        const int j = col0 + tile_col(q);
        Scalar& cell = sh.s[tile_row()][tile_col(q)];
        cell = j < batch ? gradient_scale * row_gradient(fin, mode, cell, j, ids[j] == my_class)
                         : Scalar(0);
      }
    } else {
      for (int q = 0; q < 4; ++q) sh.s[tile_row()][tile_col(q)] = Scalar(0);
    }
    __syncthreads();
    // out[owned0 + o, d] += Σ_k C(o, k) partner[other0 + k, d], C(o, k) = s[o][k] (rows) or
    // s[k][o] (columns); consecutive threads take consecutive d, so partner reads coalesce.
    const int other0 = ForRows ? col0 : row0;
    const int others = min(tile_size, batch - other0);
    for (int idx = static_cast<int>(threadIdx.x); idx < owned * dim; idx += tile_threads) {
      const int o = idx / dim;
      const int d = idx - o * dim;
      Scalar sum = 0;
      for (int k = 0; k < others; ++k) {
        const Scalar c = ForRows ? sh.s[o][k] : sh.s[k][o];
        sum += c * partner[static_cast<std::ptrdiff_t>(other0 + k) * dim + d];
      }
      out[static_cast<std::ptrdiff_t>(owned0 + o) * dim + d] += sum;
    }
    __syncthreads();
  }
}

}  // namespace ccl::gpu::kernels
