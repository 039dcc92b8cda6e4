#pragma once
// compose::ConcatLinear<Scalar>: x_tv = W · [x̂_t ; x̂_v] + b with its classifier head
// z_tv = W_2 · x_tv + b_2, the ablation of the paper's residual head (method.md §3.4) without the
// "+ x_t" anchor: the composed embedding is learned from scratch and may drift away from the
// teacher. Normalisation as in Residual (on by default). The composed width defaults to
// teacher_dim so that the composed embedding can be contrasted with x_t and x_v.
// Interface: compose/composition.hpp.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/detail/common.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

namespace ccl::compose {

struct ConcatLinearOptions {
  /// L2-normalise x_t and x_v before W (as the paper's head does).
  bool normalize = true;
  /// Width of x_tv; 0 means teacher_dim.
  Index composed_dim = 0;
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// Written once for every backend (over nn::Linear<Scalar, Backend> and the ops of
// core/backend_matrix.hpp); ccl::cuda needs <ccl/cuda/compose/concat_linear.hpp> (or
// <ccl/cuda.hpp>).
template <class Scalar, class Backend = cpu>
class ConcatLinear {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(
      is_backend_v<Backend>,
      "ccl::compose::ConcatLinear<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
      "ccl::cuda include <ccl/cuda/compose/concat_linear.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Options = ConcatLinearOptions;

  ConcatLinear(Index teacher_dim, Index student_dim, Index classes, Options options = {})
      : teacher_dim_(teacher_dim),
        student_dim_(student_dim),
        linear_(checked(teacher_dim, student_dim, classes, options) + student_dim,
                options.composed_dim > 0 ? options.composed_dim : teacher_dim),
        classifier_(linear_.out_features(), classes),
        options_(options) {
    linear_.weight().name = "linear.weight";
    linear_.bias().name = "linear.bias";
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
    linear_.set_check_finite(false);
    classifier_.set_check_finite(false);
  }

  ConcatLinear(Index teacher_dim, Index student_dim, Index classes, Rng& rng, Options options = {})
      : ConcatLinear(teacher_dim, student_dim, classes, options) {
    reset_parameters(rng);
  }

  void reset_parameters(Rng& rng) {
    linear_.reset_parameters(rng);
    classifier_.reset_parameters(rng);
  }

  Index teacher_dim() const { return teacher_dim_; }
  Index student_dim() const { return student_dim_; }
  Index composed_dim() const { return linear_.out_features(); }
  Index classes() const { return classifier_.out_features(); }

  nn::Linear<Scalar, Backend>& linear() { return linear_; }
  const nn::Linear<Scalar, Backend>& linear() const { return linear_; }
  nn::Linear<Scalar, Backend>& classifier() { return classifier_; }
  const nn::Linear<Scalar, Backend>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, Backend> forward(EmbeddingView<const Scalar, Backend> teacher,
                                             EmbeddingView<const Scalar, Backend> student) {
    detail::check_inputs("compose::ConcatLinear", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite, scratch_);
    batch_ = teacher.rows();
    input_.forward(teacher, student, options_.normalize);
    const backend_matrix_t<Scalar, Backend>& composed = linear_.forward(view(input_.value()));
    const backend_matrix_t<Scalar, Backend>& logits = classifier_.forward(view(composed));
    return {view(composed), view(logits)};
  }

  void backward(EmbeddingView<const Scalar, Backend> grad_composed,
                EmbeddingView<const Scalar, Backend> grad_logits,
                EmbeddingView<Scalar, Backend> grad_student,
                EmbeddingView<Scalar, Backend> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::ConcatLinear::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_backend_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_, scratch_.execution);
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) set_zero(grad_concat_, batch_, teacher_dim() + student_dim(), scratch_.execution);
    linear_.backward(view(grad_tv_),
                     inputs ? mutable_view(grad_concat_) : EmbeddingView<Scalar, Backend>{}, mode);
    if (inputs) input_.backward(grad_concat_, grad_teacher, grad_student);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    linear_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    linear_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }

  void zero_grad() {
    linear_.zero_grad();
    classifier_.zero_grad();
  }

  /// Runs every op of the composition with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, linear_, classifier_, input_, scratch_);
  }

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes,
                       const Options& options) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::ConcatLinear: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    require(options.composed_dim >= 0, "compose::ConcatLinear: composed_dim must be >= 0, got ",
            options.composed_dim);
    return teacher_dim;
  }

  Index teacher_dim_;
  Index student_dim_;
  nn::Linear<Scalar, Backend> linear_;
  nn::Linear<Scalar, Backend> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::ConcatInput<Scalar, Backend> input_;
  backend_matrix_t<Scalar, Backend> grad_tv_, grad_concat_;
  OpScratch<Scalar, Backend> scratch_;
};

static_assert(assert_composition<ConcatLinear<float>>());

}  // namespace ccl::compose
