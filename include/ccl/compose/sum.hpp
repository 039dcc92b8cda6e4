#pragma once
// compose::Sum<Scalar>: the parameter-free composition x_tv = x_t + x_v with its own classifier
// head z_tv = W_2 · x_tv + b_2, an ablation of the paper's residual head (method.md §3.4): it
// keeps the teacher anchor and the classifier but learns no interaction between the two
// embeddings. Needs teacher_dim == student_dim. Interface: compose/composition.hpp.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/detail/common.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

namespace ccl::compose {

struct SumOptions {
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// Written once for every backend (over nn::Linear<Scalar, Backend> and the ops of
// core/backend_matrix.hpp); ccl::cuda needs <ccl/cuda/compose/sum.hpp> (or <ccl/cuda.hpp>).
template <class Scalar, class Backend = cpu>
class Sum {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::compose::Sum<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/compose/sum.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Options = SumOptions;

  /// The same constructor as every composition; teacher_dim must equal student_dim.
  Sum(Index teacher_dim, Index student_dim, Index classes, Options options = {})
      : classifier_(checked(teacher_dim, student_dim, classes), classes), options_(options) {
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
    classifier_.set_check_finite(false);
  }

  Sum(Index teacher_dim, Index student_dim, Index classes, Rng& rng, Options options = {})
      : Sum(teacher_dim, student_dim, classes, options) {
    reset_parameters(rng);
  }

  void reset_parameters(Rng& rng) { classifier_.reset_parameters(rng); }

  Index teacher_dim() const { return classifier_.in_features(); }
  Index student_dim() const { return classifier_.in_features(); }
  Index composed_dim() const { return classifier_.in_features(); }
  Index classes() const { return classifier_.out_features(); }

  nn::Linear<Scalar, Backend>& classifier() { return classifier_; }
  const nn::Linear<Scalar, Backend>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, Backend> forward(EmbeddingView<const Scalar, Backend> teacher,
                                             EmbeddingView<const Scalar, Backend> student) {
    detail::check_inputs("compose::Sum", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite, scratch_);
    batch_ = teacher.rows();
    composed_.resize(batch_, composed_dim());
    add_into(mutable_view(composed_), teacher, student, scratch_.execution);
    const backend_matrix_t<Scalar, Backend>& logits = classifier_.forward(view(composed_));
    return {view(composed_), view(logits)};
  }

  void backward(EmbeddingView<const Scalar, Backend> grad_composed,
                EmbeddingView<const Scalar, Backend> grad_logits,
                EmbeddingView<Scalar, Backend> grad_student,
                EmbeddingView<Scalar, Backend> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Sum::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_backend_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_, scratch_.execution);
    if (detail::given(grad_student))
      add_scaled(grad_student, Scalar(1), view(grad_tv_), scratch_.execution);
    if (detail::given(grad_teacher))
      add_scaled(grad_teacher, Scalar(1), view(grad_tv_), scratch_.execution);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    classifier_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    classifier_.for_each_parameter(visit);
  }

  void zero_grad() { classifier_.zero_grad(); }

  /// Runs every op of the composition with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, classifier_, scratch_);
  }

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Sum: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    require(teacher_dim == student_dim,
            "compose::Sum: x_t + x_v needs teacher_dim == student_dim, got ", teacher_dim, " and ",
            student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar, Backend> classifier_;
  Options options_;
  Index batch_ = 0;
  backend_matrix_t<Scalar, Backend> composed_, grad_tv_;
  OpScratch<Scalar, Backend> scratch_;
};

static_assert(assert_composition<Sum<float>>());

}  // namespace ccl::compose
