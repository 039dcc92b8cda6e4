#pragma once
// Softmax cross-entropy on class logits, mean over the batch (method.md §4.1):
//
//   L = -(1/B) Σ_i log softmax(z_i)[y_i],      dL/dz_i = (softmax(z_i) - onehot(y_i)) / B.
//
// CCL applies it to the student logits z_v (all rows) and to each composition head's logits
// z_tv (audio-available rows only: slice the batch before the call). log softmax is evaluated
// by log-sum-exp, so the loss is finite for every finite logit, however large.
//
// Calling convention (the single-input analogue of pair_loss.hpp; every loss of the library
// follows it, see docs/losses.md "One convention"):
//   Scalar accumulate(logits, labels, weight, grad_logits)   returns L, ADDS weight * dL/dz
//                                                             into grad_logits unless it is empty;
//   LogitLossResult<Scalar, Backend> operator()(logits, labels)
//                                         value and grad_logits (dL/dz), freshly allocated, in the
//                                         backend's memory.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/detail/log_softmax.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <type_traits>

namespace ccl::loss {

/// Value and gradient of a loss on one [B, C] logit matrix: `value` and one `grad_<input>` per
/// input, like PairLossResult's grad_f / grad_g, written once over the backend's matrix type.
template <class Scalar, class Backend = cpu>
struct LogitLossResult {
  Scalar value{};
  backend_matrix_t<Scalar, Backend> grad_logits;  ///< dL/dz, same shape as the logits

  /// A result with a zero gradient shaped like the logits (what operator() accumulates into).
  static LogitLossResult zeros(const EmbeddingView<const Scalar, Backend>& logits,
                               const Execution<Backend>& execution = {}) {
    LogitLossResult result;
    result.grad_logits = detail::zeros_like(logits, execution);
    return result;
  }
  EmbeddingView<Scalar, Backend> grad_logits_view() { return mutable_view(grad_logits); }
};

struct CrossEntropyOptions {
  /// Scan the logits for NaN/Inf and throw ccl::error instead of returning a NaN loss.
  bool check_finite = true;
};

namespace ops {
/// Tag of the softmax cross-entropy computation, specialised per backend.
template <class Scalar>
struct CrossEntropy {};
}  // namespace ops

}  // namespace ccl::loss

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::CrossEntropy<Scalar>, cpu> {
  Scalar run(EmbeddingView<const Scalar> logits, LabelView labels, Scalar weight,
             EmbeddingView<Scalar> grad_logits) {
    const Index batch = logits.rows();
    const auto z = logits.matrix();
    const bool want_grad = grad_logits.data() != nullptr;
    const Scalar scale = weight / Scalar(batch);
    double total = 0;
    for (Index i = 0; i < batch; ++i) {
      loss::detail::log_softmax_row(z.row(i), Scalar(1), log_p_, p_);
      const Index y = Index(labels[i]);
      total -= double(log_p_[y]);
      if (want_grad) {
        auto g = grad_logits.matrix().row(i);
        g += scale * p_.matrix();
        g[y] -= scale;
      }
    }
    return Scalar(total / double(batch));
  }

 private:
  Eigen::Array<Scalar, 1, Eigen::Dynamic> log_p_, p_;
};

}  // namespace ccl

namespace ccl::loss {

/// Softmax cross-entropy as a loss policy: `CrossEntropy<float> ce; auto r = ce(logits, labels);`
template <class Scalar, class Backend = cpu>
class CrossEntropy {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::CrossEntropy: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::loss::CrossEntropy: Backend must be ccl::cpu or ccl::cuda");

 public:
  using Options = CrossEntropyOptions;

  CrossEntropy() = default;
  explicit CrossEntropy(Options options) : options_(options) {}

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L and adds weight * dL/dz into grad_logits (skipped when it is empty).
  Scalar accumulate(EmbeddingView<const Scalar, Backend> logits, LabelView labels, Scalar weight,
                    EmbeddingView<Scalar, Backend> grad_logits) {
    constexpr const char* op = "cross_entropy";
    detail::check_logits(op, "logits", logits);
    checks::gradient_shape(op, "logits", logits, "grad_logits", grad_logits);
    checks::labels_match(op, logits.rows(), labels);
    checks::labels_in_range(op, labels, logits.cols());
    // The backend's memory and NaN checks (ops of core/backend_matrix.hpp).
    require_backend_memory(op, "logits", logits);
    require_backend_memory(op, "grad_logits", grad_logits);
    if (options_.check_finite) check_finite(op, "logits", logits, scratch_);
    return impl_.run(logits, labels, weight, grad_logits);
  }

  LogitLossResult<Scalar, Backend> operator()(EmbeddingView<const Scalar, Backend> logits,
                                              LabelView labels) {
    auto result = LogitLossResult<Scalar, Backend>::zeros(logits, scratch_.execution);
    result.value = accumulate(logits, labels, Scalar(1), result.grad_logits_view());
    return result;
  }

  /// The scans and the backend's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, scratch_, impl_);
  }
  const Execution<Backend>& execution() const { return scratch_.execution; }

 private:
  Options options_;
  OpScratch<Scalar, Backend> scratch_;  // the backend's NaN scan
  Implementation<ops::CrossEntropy<Scalar>, Backend> impl_;
};

}  // namespace ccl::loss
