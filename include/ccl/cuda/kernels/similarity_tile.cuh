#pragma once
// One 32 x 32 tile of scaled cosine similarities s_rc = (f̂_{row0+r} · ĝ_{col0+c}) / τ, computed
// on chip by a 256-thread block from two contiguous, row-normalised [B, D] matrices. The fused
// contrastive kernels call it once per tile and pass; rows or columns beyond the batch read as
// zero and are skipped by the callers. With TF32 (fp32 only, sm_80+) four warps use tensor-core
// MMA fragments (m16n16k8); otherwise every thread accumulates four products in fp32 registers.
// Eigen-free.

#include <cuda_runtime.h>
#include <mma.h>

#include <cstddef>
#include <type_traits>

namespace ccl::gpu::kernels {

inline constexpr int tile_size = 32;      ///< rows and columns of a similarity tile
inline constexpr int tile_depth = 32;     ///< feature chunk staged in shared memory per step
inline constexpr int tile_threads = 256;  ///< threads per block of every fused kernel
inline constexpr int tile_pad = 4;        ///< keeps rows 16-byte aligned (wmma) and banks apart

/// Shared memory of one fused-kernel block. Thread t owns row t / 8 and the columns
/// t % 8 + 8q (q = 0..3) of `s`, which keeps a warp's reads of `b` on distinct banks.
template <class Scalar>
struct alignas(32) TileShared {
  Scalar a[tile_size][tile_depth + tile_pad];  ///< f̂ rows of the tile, one feature chunk
  Scalar b[tile_size][tile_depth + tile_pad];  ///< ĝ rows of the tile, one feature chunk
  Scalar s[tile_size][tile_size + tile_pad];   ///< the similarity (later coefficient) tile
};

__device__ inline int tile_row() { return static_cast<int>(threadIdx.x) / 8; }
__device__ inline int tile_col(int q) { return static_cast<int>(threadIdx.x) % 8 + 8 * q; }

template <class Scalar>
__device__ inline void stage_chunk(TileShared<Scalar>& sh, const Scalar* __restrict__ f_unit,
                                   const Scalar* __restrict__ g_unit, int batch, int dim, int row0,
                                   int col0, int k0) {
  for (int idx = static_cast<int>(threadIdx.x); idx < tile_size * tile_depth; idx += tile_threads) {
    const int r = idx / tile_depth;
    const int k = idx % tile_depth;
    const bool k_ok = k0 + k < dim;
    sh.a[r][k] = (k_ok && row0 + r < batch)
                     ? f_unit[static_cast<std::ptrdiff_t>(row0 + r) * dim + k0 + k]
                     : Scalar(0);
    sh.b[r][k] = (k_ok && col0 + r < batch)
                     ? g_unit[static_cast<std::ptrdiff_t>(col0 + r) * dim + k0 + k]
                     : Scalar(0);
  }
}

/// FMA path: fp32 or fp64, and the TF32 request's fallback below sm_80.
template <class Scalar>
__device__ void similarity_tile_fma(TileShared<Scalar>& sh, const Scalar* __restrict__ f_unit,
                                    const Scalar* __restrict__ g_unit, int batch, int dim, int row0,
                                    int col0, Scalar inv_tau) {
  const int r = tile_row();
  Scalar acc[4] = {Scalar(0), Scalar(0), Scalar(0), Scalar(0)};
  for (int k0 = 0; k0 < dim; k0 += tile_depth) {
    stage_chunk(sh, f_unit, g_unit, batch, dim, row0, col0, k0);
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < tile_depth; ++k) {
      const Scalar x = sh.a[r][k];
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[q] += x * sh.b[tile_col(q)][k];
    }
    __syncthreads();
  }
  for (int q = 0; q < 4; ++q) sh.s[r][tile_col(q)] = acc[q] * inv_tau;
  __syncthreads();
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
/// TF32 tensor-core path: warps 0-3 each own one 16 x 16 quarter of the tile.
__device__ inline void similarity_tile_tf32(TileShared<float>& sh, const float* __restrict__ f_unit,
                                            const float* __restrict__ g_unit, int batch, int dim,
                                            int row0, int col0, float inv_tau) {
  namespace wmma = nvcuda::wmma;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int wr = (warp / 2) * 16;
  const int wc = (warp % 2) * 16;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int k0 = 0; k0 < dim; k0 += tile_depth) {
    stage_chunk(sh, f_unit, g_unit, batch, dim, row0, col0, k0);
    __syncthreads();
    if (warp < 4) {
      for (int k = 0; k < tile_depth; k += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fb;
        // b holds ĝ rows with features contiguous: as a col-major [k, n] operand that is ĝ^T.
        wmma::load_matrix_sync(fa, &sh.a[wr][k], tile_depth + tile_pad);
        wmma::load_matrix_sync(fb, &sh.b[wc][k], tile_depth + tile_pad);
        for (int e = 0; e < fa.num_elements; ++e) fa.x[e] = wmma::__float_to_tf32(fa.x[e]);
        for (int e = 0; e < fb.num_elements; ++e) fb.x[e] = wmma::__float_to_tf32(fb.x[e]);
        wmma::mma_sync(acc, fa, fb, acc);
      }
    }
    __syncthreads();
  }
  if (warp < 4) {
    wmma::store_matrix_sync(&sh.s[wr][wc], acc, tile_size + tile_pad, wmma::mem_row_major);
  }
  __syncthreads();
  for (int q = 0; q < 4; ++q) sh.s[tile_row()][tile_col(q)] *= inv_tau;
  __syncthreads();
}
#endif

/// Fills sh.s with the tile at (row0, col0). Contains __syncthreads: call from every thread.
template <class Scalar, bool Tf32>
__device__ void similarity_tile(TileShared<Scalar>& sh, const Scalar* __restrict__ f_unit,
                                const Scalar* __restrict__ g_unit, int batch, int dim, int row0,
                                int col0, Scalar inv_tau) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (Tf32 && std::is_same_v<Scalar, float>) {
    similarity_tile_tf32(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
  } else {
    similarity_tile_fma(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
  }
#else
  similarity_tile_fma(sh, f_unit, g_unit, batch, dim, row0, col0, inv_tau);
#endif
}

}  // namespace ccl::gpu::kernels
