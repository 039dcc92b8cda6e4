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
// A row objective provides:
//   void prepare(LabelView labels, Index batch, const ContrastiveOptions&)   once per call
//   double row(Eigen::Ref<RowVector> logits_then_gradient, Index i)           per row i

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>

#include <Eigen/Core>

#include <algorithm>

namespace ccl::loss {

namespace ops {
/// Tag of the tiled row-softmax contrastive computation, specialised per backend.
template <class Scalar, class RowObjective>
struct RowSoftmaxContrastive {};
}  // namespace ops

namespace detail {

/// Rows per tile when the user leaves tile_rows = 0: about 4 MiB of logits, at least 32 rows so
/// the GEMMs stay efficient, at most the batch.
template <class Scalar>
Index automatic_tile_rows(Index batch) {
  const Index budget = Index(4) << 20;
  const Index rows = budget / (std::max<Index>(batch, 1) * Index(sizeof(Scalar)));
  return std::clamp<Index>(rows, 32, std::max<Index>(batch, 1));
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
    if (options.check_finite) {
      checks::finite(op, "f", f);
      checks::finite(op, "g", g);
    }
    objective.prepare(op, labels, f.rows(), options);

    const Index batch = f.rows();
    const Index tile = options.tile_rows > 0 ? std::min(options.tile_rows, batch)
                                             : loss::detail::automatic_tile_rows<Scalar>(batch);
    const bool want_f = grad_f.data() != nullptr;
    const bool want_g = grad_g.data() != nullptr;
    const Scalar inv_tau = Scalar(1.0 / options.temperature);

    loss::detail::normalize_rows(f, f_unit_, f_norm_);
    loss::detail::normalize_rows(g, g_unit_, g_norm_);
    if (want_f) grad_f_unit_.resize(batch, f.cols());
    if (want_g) grad_g_unit_.setZero(batch, g.cols());

    double total = 0;
    for (Index first = 0; first < batch; first += tile) {
      const Index rows = std::min(tile, batch - first);
      logits_.resize(rows, batch);
      logits_.noalias() = f_unit_.middleRows(first, rows) * g_unit_.transpose();
      logits_ *= inv_tau;
      for (Index r = 0; r < rows; ++r) total += objective.row(logits_.row(r), first + r);
      if (!want_f && !want_g) continue;
      // logits_ now holds dℓ_i/ds_ij; dL/dcos = that / (B τ).
      logits_ *= inv_tau / Scalar(batch);
      if (want_f) grad_f_unit_.middleRows(first, rows).noalias() = logits_ * g_unit_;
      if (want_g) grad_g_unit_.noalias() += logits_.transpose() * f_unit_.middleRows(first, rows);
    }
    if (want_f) loss::detail::normalize_rows_backward(f_unit_, f_norm_, grad_f_unit_, weight, grad_f);
    if (want_g) loss::detail::normalize_rows_backward(g_unit_, g_norm_, grad_g_unit_, weight, grad_g);
    return Scalar(total / double(batch));
  }

 private:
  RowMatrix<Scalar> f_unit_, g_unit_, grad_f_unit_, grad_g_unit_, logits_;
  Vector<Scalar> f_norm_, g_norm_;
};

}  // namespace ccl
