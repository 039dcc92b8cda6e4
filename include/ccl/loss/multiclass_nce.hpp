#pragma once
// Multi-class (label-aware) NCE, the contrastive loss CCL actually trains with (method.md §4.3):
//
//   p_ij = softmax_j(cos(f_i, g_j) / τ)              over all B columns
//   ℓ_i  = -(1/|P(i)|) Σ_{j∈P(i)} log p_ij - (1/|N(i)|) Σ_{j∈N(i)} log(1 - p_ij)
//   L    = (1/B) Σ_i ℓ_i,   P(i) = {j : y_j = y_i} (j = i included),  N(i) = the rest.
//
// Anchors are rows of the first argument, so L(f, g) != L(g, f); see Symmetric for the official
// code's two-direction sum. Numerics::official adds the code's 1e-10 inside both logs; the
// default Numerics::stable evaluates log p by log-sum-exp and log(1 - p) by log1p, or, for the one
// column that may hold p > 1/2, from the sum of the other columns, so the loss and its gradient
// stay finite for every finite input and every τ. A row without negatives (one class in the
// batch, or B = 1) follows ContrastiveOptions::empty_negatives; the official code returns NaN.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/contrastive_engine.hpp>
#include <ccl/loss/detail/multiclass_nce_rows.hpp>
#include <ccl/loss/pair_loss.hpp>

namespace ccl::loss {

/// Multi-class NCE as a pair-loss policy: `MultiClassNce<float> nce(/*temperature=*/0.5);`
template <class Scalar, class Backend = cpu>
class MultiClassNce : public PairLossInterface<MultiClassNce<Scalar, Backend>, Scalar> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::MultiClassNce: the scalar type must be float or double");

 public:
  using Options = ContrastiveOptions;

  MultiClassNce() = default;
  explicit MultiClassNce(Options options) : options_(options) {}
  /// Default options with temperature τ.
  explicit MultiClassNce(double temperature) { options_.temperature = temperature; }

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  Scalar accumulate(EmbeddingView<const Scalar, Backend> f, EmbeddingView<const Scalar, Backend> g,
                    LabelView labels, Scalar weight, EmbeddingView<Scalar, Backend> grad_f,
                    EmbeddingView<Scalar, Backend> grad_g) {
    return engine_.run("multiclass_nce", f, g, labels, options_, weight, grad_f, grad_g);
  }

  /// The engine's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(engine_, execution);
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

 private:
  Execution<Backend> execution_;
  Options options_;
  Implementation<ops::RowSoftmaxContrastive<Scalar, detail::MultiClassNceRows<Scalar>>, Backend>
      engine_;
};

}  // namespace ccl::loss
