#pragma once
// HintonKd: knowledge distillation on class logits (Hinton, Vinyals, Dean 2014; method.md §8.1),
// in RepDistiller's `DistillKL` form:
//
//   p^t = softmax(z_t / T),  log p^s = log_softmax(z_s / T)
//   L   = T² · (1/B) Σ_i KL(p^t_i ‖ p^s_i) = T² · (1/B) Σ_i Σ_c p^t_ic (log p^t_ic - log p^s_ic),
//
// T = 4 by default. The T² keeps the gradient's scale independent of T (dL/dz_s = T (p^s - p^t)/B).
// The student is the FIRST argument, the teacher the second, as everywhere in ccl (anchor first):
// accumulate(z_s, z_t, labels, weight, grad_s, grad_t). The teacher is usually frozen, so pass
// an empty grad_t; when given, it receives dL/dz_t = T · p^t_k (d_k - Σ_c p^t_c d_c) / B with
// d = log p^t - log p^s. Both log-softmaxes come from log-sum-exp, so L is finite for every finite
// logit, including teacher probabilities that underflow to 0 (0 · finite = 0).
//
// Cross-modal use needs teacher logits over the student's classes (method.md §8.1). Labels are
// accepted for the pair-loss convention (pair_loss.hpp) and ignored.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/detail/log_softmax.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

namespace ccl::loss {

struct HintonKdOptions {
  /// Softening temperature T > 0 (RepDistiller's default 4).
  double temperature = 4.0;
  /// Scan both logit matrices for NaN/Inf and throw ccl::error instead of returning NaN.
  bool check_finite = true;
};

namespace ops {
/// Tag of the Hinton KD computation on [B, C] student and teacher logits, specialised per backend.
template <class Scalar>
struct HintonKd {};
}  // namespace ops

}  // namespace ccl::loss

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::HintonKd<Scalar>, cpu> {
  Scalar run(EmbeddingView<const Scalar> student, EmbeddingView<const Scalar> teacher,
             const loss::HintonKdOptions& options, Scalar weight,
             EmbeddingView<Scalar> grad_student, EmbeddingView<Scalar> grad_teacher) {
    const Index batch = student.rows();
    const Scalar t = Scalar(options.temperature);
    const Scalar inv_t = Scalar(1.0 / options.temperature);
    // d(T² KL)/dz = T² · (1/T) · d KL/d(z/T), over a mean of B rows.
    const Scalar scale = weight * t / Scalar(batch);
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;

    double total = 0;
    for (Index i = 0; i < batch; ++i) {
      loss::detail::log_softmax_row(student.matrix().row(i), inv_t, log_ps_, ps_);
      loss::detail::log_softmax_row(teacher.matrix().row(i), inv_t, log_pt_, pt_);
      diff_ = log_pt_ - log_ps_;
      const Scalar kl = (pt_ * diff_).sum();
      total += double(kl);
      if (want_s) grad_student.matrix().row(i) += scale * (ps_ - pt_).matrix();
      if (want_t) grad_teacher.matrix().row(i) += scale * (pt_ * (diff_ - kl)).matrix();
    }
    return Scalar(double(t) * double(t) * total / double(batch));
  }

 private:
  Eigen::Array<Scalar, 1, Eigen::Dynamic> log_ps_, ps_, log_pt_, pt_, diff_;
};

}  // namespace ccl

namespace ccl::loss {

/// Hinton KD as a pair-loss policy: `HintonKd<float> kd(4.0); kd.accumulate(z_s, z_t, {}, 0.9f,
/// g_s, {});`
template <class Scalar, class Backend = cpu>
class HintonKd : public PairLossInterface<HintonKd<Scalar, Backend>, Scalar> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::HintonKd: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::loss::HintonKd: Backend must be ccl::cpu or ccl::cuda");

 public:
  using Options = HintonKdOptions;

  HintonKd() = default;
  explicit HintonKd(Options options) : options_(options) {}
  /// Default options with temperature T.
  explicit HintonKd(double temperature) { options_.temperature = temperature; }

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns T² · mean_i KL(p^t_i ‖ p^s_i) and adds weight * its gradients into the non-empty
  /// views (student first). `labels` is ignored.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "hinton_kd";
    checks::temperature<Scalar>(op, options_.temperature);
    detail::check_logit_pair(op, "student", "teacher", student, teacher, grad_student, grad_teacher,
                             options_.check_finite, scratch_);
    return impl_.run(student, teacher, options_, weight, grad_student, grad_teacher);
  }

  /// The scans and the backend's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, scratch_, impl_);
  }
  const Execution<Backend>& execution() const { return scratch_.execution; }

 private:
  Options options_;
  OpScratch<Scalar, Backend> scratch_;  // the backend's NaN scan
  Implementation<ops::HintonKd<Scalar>, Backend> impl_;
};

}  // namespace ccl::loss
