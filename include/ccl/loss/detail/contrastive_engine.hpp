#pragma once
// The CPU engine behind every row-softmax contrastive loss (instance NCE, multi-class NCE).
//
// Both losses have the shape L = (1/B) Σ_i ℓ_i(softmax(s_i·)), s_ij = cos(f_i, g_j) / τ. The
// engine walks the similarity matrix in tiles of rows: one GEMM gives a [tile, B] block of
// logits, the row objective turns each logit row into its loss and, in place, into dℓ_i/ds_i·,
// and two more GEMMs push that block into dL/df̂ and dL/dĝ. Only one tile of the B x B matrix
// ever exists, so memory is O(B·D + tile·B); each row sees all B columns at once, so the
// softmax needs no online rescaling and tiling changes nothing but the summation order.
// Workspaces are members and are reused across calls: fresh pages are expensive to touch.
//
// Threads (ccl::set_num_threads): Eigen parallelises the GEMMs, parallel_for the rows of a tile;
// each thread has its own objective scratch. Per-row losses are summed in row order afterwards,
// so the value does not depend on the tile size or the thread count beyond the GEMMs' rounding.
// The scalings by 1/τ and 1/(Bτ) ride along for free: the first as the GEMM's alpha, the second
// in the normalisation backward's per-row factor, instead of two passes over every logit.
//
// A row objective provides:
//   struct Scratch;                                                            per-thread work
//   void prepare(const char* op, LabelView labels, Index batch, const ContrastiveOptions&)
//   double row(Eigen::Ref<RowVector> logits_then_gradient, Index i, Scratch&) const

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <vector>

namespace ccl::loss {

namespace ops {
/// Tag of the tiled row-softmax contrastive computation, specialised per backend.
template <class Scalar, class RowObjective>
struct RowSoftmaxContrastive {};
}  // namespace ops

namespace detail {

/// Rows per tile when the user leaves tile_rows = 0. Per tile, the GEMMs stream the B x D
/// operands (ĝ into the logits and dL/df̂ products, dL/dĝ read and written by the third), i.e.
/// O(B·D) memory traffic against O(tile·B·D) flops: at least 256 rows keep that traffic a few
/// percent of the arithmetic (measured in docs/performance.md). Above that the tile grows to
/// about 64 MiB of logits, at most 1024 rows and at most the batch: memory stays O(B·D + tile·B)
/// (128 MiB of logits at B = 65,536 in float).
template <class Scalar>
Index automatic_tile_rows(Index batch, Index /*dim*/ = 0) {
  batch = std::max<Index>(batch, 1);
  const Index budget = Index(64) << 20;
  const Index rows = budget / (batch * Index(sizeof(Scalar)));
  return std::min<Index>(std::clamp<Index>(rows, 256, 1024), batch);
}

}  // namespace detail
}  // namespace ccl::loss

namespace ccl {

template <class Scalar, class RowObjective>
struct Implementation<loss::ops::RowSoftmaxContrastive<Scalar, RowObjective>, cpu> {
  RowObjective objective;

  /// Returns L(f, g) and adds weight * dL/df, weight * dL/dg into the non-empty gradient views.
  Scalar run(const char* op, EmbeddingView<const Scalar> f, EmbeddingView<const Scalar> g,
             LabelView labels, const loss::ContrastiveOptions& options, Scalar weight,
             EmbeddingView<Scalar> grad_f, EmbeddingView<Scalar> grad_g) {
    checks::non_empty(op, "f", f);
    checks::same_shape(op, "f", f, "g", g);
    checks::gradient_shape(op, "f", f, "grad_f", grad_f);
    checks::gradient_shape(op, "g", g, "grad_g", grad_g);
    checks::positive(op, "temperature", options.temperature);
    require(options.tile_rows >= 0, op, ": tile_rows must be >= 0 (0 = automatic), got ",
            options.tile_rows);
    loss::detail::normalize_rows(f, f_unit_, f_norm_);
    loss::detail::normalize_rows(g, g_unit_, g_norm_);
    if (options.check_finite) {
      // A NaN or Inf element makes its row's norm non-finite (so does a finite row whose squares
      // overflow, which the scan then lets pass): the element-wise scan, a scalar loop, only
      // runs to name the culprit instead of costing a pass over every input.
      if (!f_norm_.allFinite()) checks::finite(op, "f", f);
      if (!g_norm_.allFinite()) checks::finite(op, "g", g);
    }
    objective.prepare(op, labels, f.rows(), options);

    const Index batch = f.rows();
    const Index tile = options.tile_rows > 0 ? std::min(options.tile_rows, batch)
                                             : loss::detail::automatic_tile_rows<Scalar>(batch);
    const bool want_f = grad_f.data() != nullptr;
    const bool want_g = grad_g.data() != nullptr;
    const Scalar inv_tau = Scalar(1.0 / options.temperature);

    if (want_f) grad_f_unit_.resize(batch, f.cols());
    if (want_g) grad_g_unit_.resize(batch, g.cols());

    if (logits_.rows() != tile || logits_.cols() != batch) logits_.resize(tile, batch);
    const int threads = num_threads();
    if (scratch_.size() < static_cast<std::size_t>(threads)) scratch_.resize(threads);
    row_loss_.resize(batch);

    for (Index first = 0; first < batch; first += tile) {
      const Index rows = std::min(tile, batch - first);
      // The last tile may be shorter: use the top rows of the one workspace (a resize would
      // reallocate it, twice per call, on fresh pages).
      auto logits = logits_.topRows(rows);
      logits.noalias() = (inv_tau * f_unit_.middleRows(first, rows)) * g_unit_.transpose();
      const RowObjective& objective_ref = objective;
      parallel_for(0, rows, [&](Index r, int thread) {
        row_loss_[first + r] = objective_ref.row(logits.row(r), first + r, scratch_[thread]);
      });
      if (!want_f && !want_g) continue;
      // logits now holds dℓ_i/ds_ij; the factor 1/(Bτ) of dL/dcos joins the backward below.
      if (want_f) grad_f_unit_.middleRows(first, rows).noalias() = logits * g_unit_;
      if (want_g) {
        if (first == 0) {
          grad_g_unit_.noalias() = logits.transpose() * f_unit_.middleRows(first, rows);
        } else {
          grad_g_unit_.noalias() += logits.transpose() * f_unit_.middleRows(first, rows);
        }
      }
    }
    const Scalar scale = weight * inv_tau / Scalar(batch);
    if (want_f) loss::detail::normalize_rows_backward(f_unit_, f_norm_, grad_f_unit_, scale, grad_f);
    if (want_g) loss::detail::normalize_rows_backward(g_unit_, g_norm_, grad_g_unit_, scale, grad_g);
    double total = 0;
    for (Index i = 0; i < batch; ++i) total += row_loss_[i];  // row order: tiling-independent
    return Scalar(total / double(batch));
  }

 private:
  RowMatrix<Scalar> f_unit_, g_unit_, grad_f_unit_, grad_g_unit_, logits_;
  Vector<Scalar> f_norm_, g_norm_;
  Eigen::Matrix<double, Eigen::Dynamic, 1> row_loss_;
  std::vector<typename RowObjective::Scratch> scratch_;
};

}  // namespace ccl
