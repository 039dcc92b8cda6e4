#pragma once
// The CPU engine behind every row-softmax contrastive loss (instance NCE, multi-class NCE).
//
// Both losses have the shape L = (1/B) Σ_i ℓ_i(softmax(s_i·)), s_ij = cos(f_i, g_j) / τ. The
// engine walks the similarity matrix in tiles of rows: one GEMM gives a [tile, B] block of
// logits, the row objective turns each logit row into its loss and, in place, into dℓ_i/ds_i·,
// and two more GEMMs push that block into dL/df̂ and dL/dĝ. Only one tile of the B x B matrix
// per thread ever exists, so memory is O(B·D + tile·B); each row sees all B columns at once,
// so the softmax needs no online rescaling and tiling changes nothing but the summation order.
// Workspaces are members and are reused across calls: fresh pages are expensive to touch.
//
// Threads (ccl::set_num_threads) take whole tiles, each with its own logits, objective scratch
// and dL/dĝ accumulator (see run()). Per-row losses are summed in row order afterwards, so the
// value does not depend on the tile size or the thread count beyond the GEMMs' rounding.
// Extra memory is O(B·D + threads·(tile·B + B·D)).
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
#include <ccl/core/gemm.hpp>
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
/// O(B·D) memory traffic and packing against O(tile·B·D) flops: the GEMM rate is flat from 256
/// rows up and drops below (docs/performance.md). Above that the tile grows to about 64 MiB of
/// logits, at most 1024 rows and at most the batch: memory stays O(B·D + tile·B) (256 rows,
/// 64 MiB of logits per thread at B = 65,536 in float).
template <class Scalar>
Index automatic_tile_rows(Index batch) {
  batch = std::max<Index>(batch, 1);
  const Index budget = Index(64) << 20;
  const Index rows = budget / (batch * Index(sizeof(Scalar)));
  return std::min<Index>(std::clamp<Index>(rows, 256, 1024), batch);
}

/// How a call splits the B rows: `tile` rows per tile, `tiles` tiles, handed round robin to a
/// team of `team` threads. Each thread needs a tile, so with several threads small batches get
/// smaller tiles (never under 32 rows per thread, where threading stops paying).
struct TilePlan {
  Index tile = 1;
  Index tiles = 1;
  int team = 1;
};

inline TilePlan plan_tiles(Index batch, Index tile_rows, int threads) {
  constexpr Index min_rows = 32;
  TilePlan plan;
  const Index usable = std::clamp<Index>(std::min<Index>(threads, batch / min_rows), 1, batch);
  plan.tile = std::max<Index>(1, std::min(tile_rows, (batch + usable - 1) / usable));
  plan.tiles = (batch + plan.tile - 1) / plan.tile;
  plan.team = static_cast<int>(std::min<Index>(usable, plan.tiles));
  return plan;
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
    loss::detail::check_contrastive_arguments(op, f, g, grad_f, grad_g, options);
    loss::detail::normalize_rows(f, f_unit_, f_norm_);
    loss::detail::normalize_rows(g, g_unit_, g_norm_);
    if (options.check_finite) {
      // A NaN or Inf element makes its row's norm non-finite (so does a finite row whose norm
      // exceeds the scalar's range, which the scan then lets pass): the element-wise scan, a
      // scalar loop, only runs to name the culprit instead of costing a pass over every input.
      if (!f_norm_.allFinite()) checks::finite(op, "f", f);
      if (!g_norm_.allFinite()) checks::finite(op, "g", g);
    }
    if (options.zero_rows == loss::ZeroRows::raise) {
      loss::detail::require_nonzero_rows(op, "f", f_norm_);
      loss::detail::require_nonzero_rows(op, "g", g_norm_);
    }
    objective.prepare(op, labels, f.rows(), options);

    const Index batch = f.rows();
    const Index requested_tile = options.tile_rows > 0
                                     ? std::min(options.tile_rows, batch)
                                     : loss::detail::automatic_tile_rows<Scalar>(batch);
    const bool want_f = grad_f.data() != nullptr;
    const bool want_g = grad_g.data() != nullptr;
    const Scalar inv_tau = Scalar(1.0 / options.temperature);

    // Threads take whole tiles (round robin, so the result depends on the thread count but not
    // on timing): one fork per call, single-threaded GEMMs inside, no synchronisation between
    // tiles. dL/dĝ receives a product from every tile, so each thread accumulates its own and the
    // parts are added in thread order at the end. Each thread needs a tile, so small batches
    // get smaller tiles (and tiny ones one thread).
    const auto plan = loss::detail::plan_tiles(batch, requested_tile, num_threads());
    const Index tile = plan.tile;
    const Index tiles = plan.tiles;
    const int team_size = plan.team;

    if (want_f) grad_f_unit_.resize(batch, f.cols());
    if (scratch_.size() < static_cast<std::size_t>(team_size)) scratch_.resize(team_size);
    if (logits_.size() < static_cast<std::size_t>(team_size)) logits_.resize(team_size);
    if (want_g && grad_g_parts_.size() < static_cast<std::size_t>(team_size)) {
      grad_g_parts_.resize(team_size);
    }
    for (int t = 0; t < team_size; ++t) {
      // Resized only when the shape changes: the workspaces persist across calls.
      if (logits_[t].rows() != tile || logits_[t].cols() != batch) logits_[t].resize(tile, batch);
      if (want_g) grad_g_parts_[t].resize(batch, g.cols());
    }
    row_loss_.resize(batch);

    int granted = 1;
    const RowObjective& objective_ref = objective;
    parallel_team(team_size, [&](int thread, int team) {
      if (thread == 0) granted = team;
      for (Index k = thread; k < tiles; k += team) {
        const Index first = k * tile;
        const Index rows = std::min(tile, batch - first);
        // The top rows of the thread's one workspace: a shorter last tile reallocates nothing.
        auto logits = logits_[thread].topRows(rows);
        const auto f_tile = f_unit_.middleRows(first, rows);
        // ccl::gemm: single-threaded here, whatever the team (Eigen's own threading never runs).
        gemm(logits, gemm_arg(f_tile), gemm_arg_transposed(g_unit_), Gemm::overwrite, inv_tau);
        for (Index r = 0; r < rows; ++r) {
          row_loss_[first + r] = objective_ref.row(logits.row(r), first + r, scratch_[thread]);
        }
        // logits now holds dℓ_i/ds_ij; the factor 1/(Bτ) of dL/dcos joins the backward below.
        if (want_f)
          gemm(grad_f_unit_.middleRows(first, rows), gemm_arg(logits), gemm_arg(g_unit_),
               Gemm::overwrite);
        if (want_g) {
          gemm(grad_g_parts_[thread], gemm_arg_transposed(logits), gemm_arg(f_tile),
               k == thread ? Gemm::overwrite : Gemm::accumulate);
        }
      }
    });
    if (want_g && granted > 1) {
      auto& total = grad_g_parts_[0];
      parallel_for(
          0, batch,
          [&](Index i, int) {
            for (int t = 1; t < granted && t < tiles; ++t) total.row(i) += grad_g_parts_[t].row(i);
          },
          loss::detail::rows_per_thread);
    }
    const Scalar scale = weight * inv_tau / Scalar(batch);
    if (want_f)
      loss::detail::normalize_rows_backward(f_unit_, f_norm_, grad_f_unit_, scale, grad_f);
    if (want_g)
      loss::detail::normalize_rows_backward(g_unit_, g_norm_, grad_g_parts_[0], scale, grad_g);
    double total = 0;
    for (Index i = 0; i < batch; ++i) total += row_loss_[i];  // row order: tiling-independent
    return Scalar(total / double(batch));
  }

 private:
  RowMatrix<Scalar> f_unit_, g_unit_, grad_f_unit_;
  std::vector<RowMatrix<Scalar>> logits_, grad_g_parts_;  // one per thread
  Vector<Scalar> f_norm_, g_norm_;
  Eigen::Matrix<double, Eigen::Dynamic, 1> row_loss_;
  std::vector<typename RowObjective::Scratch> scratch_;
};

}  // namespace ccl
