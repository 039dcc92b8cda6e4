#pragma once
// compose::Sum<Scalar>: the parameter-free composition x_tv = x_t + x_v with its own classifier
// head z_tv = W_2 · x_tv + b_2, an ablation of the paper's residual head (method.md §3.4): it
// keeps the teacher anchor and the classifier but learns no interaction between the two
// embeddings. Needs teacher_dim == student_dim. Interface: compose/composition.hpp.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/detail/common.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <type_traits>

namespace ccl::compose {

struct SumOptions {
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// The primary template is the host policy; Sum<Scalar, ccl::cuda> is in
// <ccl/cuda/compose/sum.hpp>.
template <class Scalar, class Backend = cpu>
class Sum {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::compose::Sum<Scalar, ccl::cuda> lives in <ccl/cuda/compose/sum.hpp>; "
                "include it (or <ccl/cuda.hpp>) to compose on the GPU");

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

  nn::Linear<Scalar>& classifier() { return classifier_; }
  const nn::Linear<Scalar>& classifier() const { return classifier_; }

  CompositionOutput<Scalar> forward(EmbeddingView<const Scalar> teacher,
                                    EmbeddingView<const Scalar> student) {
    detail::check_inputs("compose::Sum", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite);
    batch_ = teacher.rows();
    composed_ = teacher.matrix();
    composed_ += student.matrix();
    const RowMatrix<Scalar>& logits = classifier_.forward(view(composed_));
    return {view(composed_), view(logits)};
  }

  void backward(EmbeddingView<const Scalar> grad_composed, EmbeddingView<const Scalar> grad_logits,
                EmbeddingView<Scalar> grad_student, EmbeddingView<Scalar> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    detail::check_backward("compose::Sum::backward", batch_, grad_composed, composed_dim(),
                           grad_logits, classes(), grad_student, student_dim(), grad_teacher,
                           teacher_dim());
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_,
                              composed_dim(), grad_tv_);
    if (detail::given(grad_student)) grad_student.matrix() += grad_tv_;
    if (detail::given(grad_teacher)) grad_teacher.matrix() += grad_tv_;
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

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Sum: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    require(teacher_dim == student_dim, "compose::Sum: x_t + x_v needs teacher_dim == "
            "student_dim, got ", teacher_dim, " and ", student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar> classifier_;
  Options options_;
  Index batch_ = 0;
  RowMatrix<Scalar> composed_, grad_tv_;
};

static_assert(assert_composition<Sum<float>>());

}  // namespace ccl::compose
