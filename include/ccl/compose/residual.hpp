#pragma once
// compose::Residual<Scalar>: the paper's composition head (`CompositionClassifier` of the
// official code, method.md §1 and §3.4), one per teacher:
//
//   r    = W_1 · [x̂_t ; x̂_v] + b_1       x̂ = x / max(‖x‖₂, 1e-12), W_1 ∈ R^{Dt × (Dt+Dv)}
//   x_tv = x_t + r                        the un-normalised teacher plus a learned residual
//   z_tv = W_2 · x_tv + b_2               W_2 ∈ R^{C × Dt}, logits over the video classes
//
// One linear layer, no non-linearity, PyTorch-default initialisation; 550,963 parameters for
// Dt = Dv = 512 and C = 51. The residual form keeps x_tv anchored at the teacher, so the head
// can only move the teacher embedding toward the student's class semantics, not replace it.
// Gradients flow into x_v (and hence the student); into x_t only when a grad_teacher view is
// passed to backward (teachers are frozen in CCL). See compose/composition.hpp for the interface.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/detail/common.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

namespace ccl::compose {

struct ResidualOptions {
  /// L2-normalise x_t and x_v before W_1; the official code hard-wires this on.
  bool normalize = true;
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// Written once for every backend (over nn::Linear<Scalar, Backend> and the ops of
// core/backend_matrix.hpp); ccl::cuda needs <ccl/cuda/compose/residual.hpp> (or <ccl/cuda.hpp>).
template <class Scalar, class Backend = cpu>
class Residual {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(
      is_backend_v<Backend>,
      "ccl::compose::Residual<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
      "ccl::cuda include <ccl/cuda/compose/residual.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Options = ResidualOptions;

  /// A head with all parameters zero (set them through residual()/classifier()).
  Residual(Index teacher_dim, Index student_dim, Index classes, Options options = {})
      : residual_(checked(teacher_dim, student_dim, classes) + student_dim, teacher_dim),
        classifier_(teacher_dim, classes),
        options_(options),
        student_dim_(student_dim) {
    name_parameters();
  }

  /// PyTorch-default initialisation: W_1 and b_1 first, then W_2 and b_2.
  Residual(Index teacher_dim, Index student_dim, Index classes, Rng& rng, Options options = {})
      : Residual(teacher_dim, student_dim, classes, options) {
    reset_parameters(rng);
  }

  void reset_parameters(Rng& rng) {
    residual_.reset_parameters(rng);
    classifier_.reset_parameters(rng);
  }

  Index teacher_dim() const { return classifier_.in_features(); }
  Index student_dim() const { return student_dim_; }
  Index composed_dim() const { return teacher_dim(); }
  Index classes() const { return classifier_.out_features(); }
  const Options& options() const { return options_; }

  /// The residual layer (W_1, b_1) and the classifier (W_2, b_2).
  nn::Linear<Scalar, Backend>& residual() { return residual_; }
  const nn::Linear<Scalar, Backend>& residual() const { return residual_; }
  nn::Linear<Scalar, Backend>& classifier() { return classifier_; }
  const nn::Linear<Scalar, Backend>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, Backend> forward(EmbeddingView<const Scalar, Backend> teacher,
                                             EmbeddingView<const Scalar, Backend> student) {
    detail::check_inputs("compose::Residual", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite, scratch_);
    batch_ = teacher.rows();
    input_.forward(teacher, student, options_.normalize);
    const backend_matrix_t<Scalar, Backend>& r = residual_.forward(view(input_.value()));
    composed_.resize(batch_, composed_dim());
    add_into(mutable_view(composed_), teacher, view(r), scratch_.execution);
    const backend_matrix_t<Scalar, Backend>& logits = classifier_.forward(view(composed_));
    return {view(composed_), view(logits)};
  }

  void backward(EmbeddingView<const Scalar, Backend> grad_composed,
                EmbeddingView<const Scalar, Backend> grad_logits,
                EmbeddingView<Scalar, Backend> grad_student,
                EmbeddingView<Scalar, Backend> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Residual::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_backend_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_, scratch_.execution);
    // x_tv = x_t + r: the identity path into the teacher ...
    if (detail::given(grad_teacher))
      add_scaled(grad_teacher, Scalar(1), view(grad_tv_), scratch_.execution);
    // ... and W_1 into both halves of the concatenation.
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) set_zero(grad_concat_, batch_, teacher_dim() + student_dim(), scratch_.execution);
    residual_.backward(view(grad_tv_),
                       inputs ? mutable_view(grad_concat_) : EmbeddingView<Scalar, Backend>{},
                       mode);
    if (inputs) input_.backward(grad_concat_, grad_teacher, grad_student);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    residual_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    residual_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }

  void zero_grad() {
    residual_.zero_grad();
    classifier_.zero_grad();
  }

  /// Runs every op of the composition with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, residual_, classifier_, input_, scratch_);
  }

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Residual: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    return teacher_dim;
  }

  void name_parameters() {
    residual_.weight().name = "residual.weight";
    residual_.bias().name = "residual.bias";
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
    // The inputs were checked once in forward; the inner layers need not scan them again.
    residual_.set_check_finite(false);
    classifier_.set_check_finite(false);
  }

  nn::Linear<Scalar, Backend> residual_;
  nn::Linear<Scalar, Backend> classifier_;
  Options options_;
  Index student_dim_;
  Index batch_ = 0;
  detail::ConcatInput<Scalar, Backend> input_;
  backend_matrix_t<Scalar, Backend> composed_, grad_tv_, grad_concat_;
  OpScratch<Scalar, Backend> scratch_;
};

static_assert(assert_composition<Residual<float>>());

}  // namespace ccl::compose
