#pragma once
// compose::ConcatLinear<Scalar, ccl::cuda>: x_tv = W · [x̂_t ; x̂_v] + b, z_tv = W_2 · x_tv + b_2
// (compose/concat_linear.hpp) on the device: device views, Parameter<Scalar, ccl::cuda>, the CPU
// policy's names, options, checks and messages.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/concat_linear.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/compose/detail/common.hpp>
#include <ccl/cuda/nn/linear.hpp>

namespace ccl::compose {

template <class Scalar>
class ConcatLinear<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
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

  nn::Linear<Scalar, cuda>& linear() { return linear_; }
  const nn::Linear<Scalar, cuda>& linear() const { return linear_; }
  nn::Linear<Scalar, cuda>& classifier() { return classifier_; }
  const nn::Linear<Scalar, cuda>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, cuda> forward(EmbeddingView<const Scalar, cuda> teacher,
                                          EmbeddingView<const Scalar, cuda> student) {
    detail::check_device_inputs("compose::ConcatLinear", teacher, student, teacher_dim(),
                                student_dim(), options_.check_finite, finite_scratch_);
    batch_ = teacher.rows();
    input_.forward(teacher, student, options_.normalize);
    const gpu::DeviceMatrix<Scalar>& composed = linear_.forward(input_.value().view());
    const gpu::DeviceMatrix<Scalar>& logits = classifier_.forward(composed.view());
    return {composed.view(), logits.view()};
  }

  void backward(EmbeddingView<const Scalar, cuda> grad_composed,
                EmbeddingView<const Scalar, cuda> grad_logits,
                EmbeddingView<Scalar, cuda> grad_student,
                EmbeddingView<Scalar, cuda> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::ConcatLinear::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_device_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_);
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) detail::zeroed(grad_concat_, batch_, teacher_dim() + student_dim());
    linear_.backward(grad_tv_.view(),
                     inputs ? grad_concat_.mutable_view() : EmbeddingView<Scalar, cuda>{}, mode);
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
  nn::Linear<Scalar, cuda> linear_;
  nn::Linear<Scalar, cuda> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::DeviceConcatInput<Scalar> input_;
  gpu::DeviceMatrix<Scalar> grad_tv_, grad_concat_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

static_assert(assert_composition<ConcatLinear<float, cuda>>());

}  // namespace ccl::compose
