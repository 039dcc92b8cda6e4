#pragma once
// The row kernel of the cuBLAS-based contrastive algorithm: a GEMM has written a [rows, B] tile
// of logits s = cos / τ; one thread block per row runs the three passes of contrastive_rows.cuh
// over its row (block reductions in between), stores ℓ_i, and overwrites the row in place with
// dℓ_i/ds_i· scaled for the gradient GEMMs. Eigen-free.

#include <ccl/cuda/kernels/contrastive_rows.cuh>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

inline constexpr int rowwise_threads = 256;

struct RowLabels {
  const int* ids;        ///< [B] dense class id of every row (0..B-1 for instance NCE)
  const int* positives;  ///< [B] |P(i)|
};

/// Launch with rowwise_threads threads and one block per tile row.
/// `logits` is the contiguous [rows, batch] tile whose first row is global row `first_row`.
template <class Scalar>
__global__ void __launch_bounds__(rowwise_threads)
    contrastive_rows_kernel(Scalar* __restrict__ logits, int batch, int first_row, RowMode mode,
                            RowLabels labels, bool want_gradient, Scalar gradient_scale,
                            double* __restrict__ row_loss) {
  __shared__ RowStats<Scalar> stats_scratch[rowwise_threads];
  __shared__ RowTerms<Scalar> terms_scratch[rowwise_threads];
  const int tid = static_cast<int>(threadIdx.x);
  const int i = first_row + static_cast<int>(blockIdx.x);
  Scalar* s = logits + static_cast<std::ptrdiff_t>(blockIdx.x) * batch;
  const int my_class = labels.ids[i];
  const int positives = labels.positives[i];

  RowStats<Scalar> st = empty_stats<Scalar>();
  for (int j = tid; j < batch; j += rowwise_threads) {
    stats_update(st, s[j], j, labels.ids[j] == my_class);
  }
  st = block_reduce(
      st, [](const RowStats<Scalar>& a, const RowStats<Scalar>& b) { return stats_combine(a, b); },
      stats_scratch);
  RowFinal<Scalar> fin =
      finish_stats(st, positives, batch - positives, labels.ids[st.top] == my_class);

  RowTerms<Scalar> terms{};
  if (mode != RowMode::instance) {
    for (int j = tid; j < batch; j += rowwise_threads) {
      terms_update(terms, fin, mode, s[j], j, labels.ids[j] == my_class);
    }
    terms = block_reduce(
        terms,
        [](const RowTerms<Scalar>& a, const RowTerms<Scalar>& b) { return terms_combine(a, b); },
        terms_scratch);
  }
  // Every thread finishes the same constants from the same reduced values; thread 0 stores ℓ_i.
  const double loss = finish_row(fin, st, terms, mode);
  if (tid == 0) row_loss[i] = loss;
  if (!want_gradient) return;
  // Each thread rewrites only the elements it read, so no barrier is needed before the writes.
  for (int j = tid; j < batch; j += rowwise_threads) {
    s[j] = gradient_scale * row_gradient(fin, mode, s[j], j, labels.ids[j] == my_class);
  }
}

}  // namespace ccl::gpu::kernels
