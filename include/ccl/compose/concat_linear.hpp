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
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <type_traits>

namespace ccl::compose {

struct ConcatLinearOptions {
  /// L2-normalise x_t and x_v before W (as the paper's head does).
  bool normalize = true;
  /// Width of x_tv; 0 means teacher_dim.
  Index composed_dim = 0;
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// The primary template is the host policy; ConcatLinear<Scalar, ccl::cuda> is in
// <ccl/cuda/compose/concat_linear.hpp>.
template <class Scalar, class Backend = cpu>
class ConcatLinear {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::compose::ConcatLinear<Scalar, ccl::cuda> lives in <ccl/cuda/compose/concat_linear.hpp>; "
                "include it (or <ccl/cuda.hpp>) to compose on the GPU");

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

  ConcatLinear(Index teacher_dim, Index student_dim, Index classes, Rng& rng,
               Options options = {})
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

  nn::Linear<Scalar>& linear() { return linear_; }
  const nn::Linear<Scalar>& linear() const { return linear_; }
  nn::Linear<Scalar>& classifier() { return classifier_; }
  const nn::Linear<Scalar>& classifier() const { return classifier_; }

  CompositionOutput<Scalar> forward(EmbeddingView<const Scalar> teacher,
                                    EmbeddingView<const Scalar> student) {
    detail::check_inputs("compose::ConcatLinear", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite);
    batch_ = teacher.rows();
    input_.forward(teacher, student, options_.normalize);
    const RowMatrix<Scalar>& composed = linear_.forward(view(input_.value()));
    const RowMatrix<Scalar>& logits = classifier_.forward(view(composed));
    return {view(composed), view(logits)};
  }

  void backward(EmbeddingView<const Scalar> grad_composed, EmbeddingView<const Scalar> grad_logits,
                EmbeddingView<Scalar> grad_student, EmbeddingView<Scalar> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    detail::check_backward("compose::ConcatLinear::backward", batch_, grad_composed,
                           composed_dim(), grad_logits, classes(), grad_student, student_dim(),
                           grad_teacher, teacher_dim());
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_,
                              composed_dim(), grad_tv_);
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) grad_concat_.setZero(batch_, teacher_dim() + student_dim());
    linear_.backward(view(grad_tv_),
                     inputs ? mutable_view(grad_concat_) : EmbeddingView<Scalar>{}, mode);
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
  nn::Linear<Scalar> linear_;
  nn::Linear<Scalar> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::ConcatInput<Scalar> input_;
  RowMatrix<Scalar> grad_tv_, grad_concat_;
};

static_assert(assert_composition<ConcatLinear<float>>());

}  // namespace ccl::compose
