#pragma once
// The grid-stride loop of ccl's element-wise kernels, written once: the launch size and the
// loops over flat indices and over the elements of a [rows, cols] batch. Each thread strides by
// the whole grid, so any launch covers any size and the result never depends on the launch size
// (every element is visited by exactly one thread). 64-bit indices: video activations exceed
// 2^31 elements at large batches. Eigen-free.

#include <cuda_runtime.h>

namespace ccl::gpu::kernels {

inline constexpr int elementwise_threads = 256;

/// Blocks for a grid-stride launch over `count` items: one item per thread up to 65,535 · 16
/// blocks (plenty to fill a GPU), at least one block.
inline int elementwise_blocks(long long count) {
  const long long blocks = (count + elementwise_threads - 1) / elementwise_threads;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

/// Blocks of `per_block` items (rows, tiles, warps' rows) that cover `items`: ceil(items /
/// per_block).
inline int blocks_for(long long items, int per_block) {
  return static_cast<int>((items + per_block - 1) / per_block);
}

/// Element (row, col) of the flat index `k` of a [rows, cols] batch.
__device__ __forceinline__ void split_index(long long k, int cols, int& row, int& col) {
  row = static_cast<int>(k / cols);
  col = static_cast<int>(k - static_cast<long long>(row) * cols);
}

/// Calls visit(k) once for every k in [0, count), consecutive threads on consecutive k.
template <class Visit>
__device__ __forceinline__ void for_each_index(long long count, Visit&& visit) {
  for (long long k = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<long long>(gridDim.x) * blockDim.x)
    visit(k);
}

/// Calls visit(row, col) once for every element of a [rows, cols] batch, row-major order.
template <class Visit>
__device__ __forceinline__ void for_each_element(int rows, int cols, Visit&& visit) {
  for_each_index(static_cast<long long>(rows) * cols, [&](long long k) {
    int i, j;
    split_index(k, cols, i, j);
    visit(i, j);
  });
}

}  // namespace ccl::gpu::kernels
