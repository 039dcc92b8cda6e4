#pragma once
// Options shared by the row-softmax contrastive losses (instance NCE and multi-class NCE).

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

namespace ccl::loss {

/// How log(p) and log(1 - p) are evaluated.
enum class Numerics {
  /// log-sum-exp and log1p/expm1 forms: finite and accurate for any finite logits (default).
  stable,
  /// The official CCL code's formula, log(p + 1e-10) and log(1 - p + 1e-10), for bit-faithful
  /// reproduction of its numbers (method.md §4.3). Always below `stable`, by about 1e-10 times the
  /// mean 1/p of the positives: 4e-10 on TV1 at τ = 0.5, 4e-8 at τ = 0.1, ~1e-6 to 1e-4 for
  /// batches of hundreds at τ = 0.1 to 0.07 (docs/losses.md states the bound).
  official,
};

/// What a row with no negatives (the whole batch shares one class, or B = 1) contributes to the
/// negative term of multi-class NCE. The official code divides 0 by 0 there and returns NaN.
enum class EmptyNegatives {
  /// The mean over an empty set is taken as 0: the row contributes its positive term only.
  skip,
  /// Throw ccl::error naming the row and its label.
  raise,
};

/// What a row of norm <= 1e-12 (an all-zero embedding) does. Rows are normalised as PyTorch's
/// F.normalize does, x / max(‖x‖, 1e-12).
enum class ZeroRows {
  /// F.normalize's semantics (default): the unit row is 0 (so every similarity with it is 0) and
  /// its gradient is grad_unit / 1e-12 — large, as in PyTorch.
  clamp,
  /// Throw ccl::error naming the input and the row.
  raise,
};

struct ContrastiveOptions {
  /// Softmax temperature τ > 0 (the official code uses 0.5 for audio, 0.1 for images).
  double temperature = 0.5;
  Numerics numerics = Numerics::stable;
  EmptyNegatives empty_negatives = EmptyNegatives::skip;
  /// Rows of the similarity matrix held at once; 0 picks a size that keeps the tile in cache.
  /// The result does not depend on it beyond floating-point summation order.
  Index tile_rows = 0;
  /// Scan inputs for NaN/Inf and throw ccl::error instead of returning a NaN loss.
  bool check_finite = true;
  /// All-zero rows: F.normalize's semantics, or an error.
  ZeroRows zero_rows = ZeroRows::clamp;
};

namespace detail {

/// The argument checks of a row-softmax contrastive loss, the same on every backend (the CUDA
/// engine adds its memory and 32-bit checks after them).
template <class Scalar, class Backend>
void check_contrastive_arguments(const char* op, const EmbeddingView<const Scalar, Backend>& f,
                                 const EmbeddingView<const Scalar, Backend>& g,
                                 const EmbeddingView<Scalar, Backend>& grad_f,
                                 const EmbeddingView<Scalar, Backend>& grad_g,
                                 const ContrastiveOptions& options) {
  checks::non_empty(op, "f", f);
  checks::same_shape(op, "f", f, "g", g);
  checks::gradient_shape(op, "f", f, "grad_f", grad_f);
  checks::gradient_shape(op, "g", g, "grad_g", grad_g);
  checks::temperature<Scalar>(op, options.temperature);
  require(options.tile_rows >= 0, op, ": tile_rows must be >= 0 (0 = automatic), got ",
          options.tile_rows);
}

}  // namespace detail

}  // namespace ccl::loss
