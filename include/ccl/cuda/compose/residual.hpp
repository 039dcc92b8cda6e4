#pragma once
// compose::Residual<Scalar, ccl::cuda>: the paper's composition head (compose/residual.hpp) on the
// device,
//   r = W_1 · [x̂_t ; x̂_v] + b_1,   x_tv = x_t + r,   z_tv = W_2 · x_tv + b_2,
// with device views in and out, parameters in device memory (Parameter<Scalar, ccl::cuda>, the
// CPU policy's names and order), the same options, checks and messages. A seed gives the CPU
// policy's parameters (initialisation runs on the host).

#include <ccl/compose/composition.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/compose/detail/common.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/rowwise.hpp>

namespace ccl::compose {

template <class Scalar>
class Residual<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Options = ResidualOptions;

  Residual(Index teacher_dim, Index student_dim, Index classes, Options options = {})
      : residual_(checked(teacher_dim, student_dim, classes) + student_dim, teacher_dim),
        classifier_(teacher_dim, classes),
        options_(options),
        student_dim_(student_dim) {
    residual_.weight().name = "residual.weight";
    residual_.bias().name = "residual.bias";
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
    residual_.set_check_finite(false);
    classifier_.set_check_finite(false);
  }

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

  nn::Linear<Scalar, cuda>& residual() { return residual_; }
  const nn::Linear<Scalar, cuda>& residual() const { return residual_; }
  nn::Linear<Scalar, cuda>& classifier() { return classifier_; }
  const nn::Linear<Scalar, cuda>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, cuda> forward(EmbeddingView<const Scalar, cuda> teacher,
                                          EmbeddingView<const Scalar, cuda> student) {
    detail::check_device_inputs("compose::Residual", teacher, student, teacher_dim(), student_dim(),
                                options_.check_finite, finite_scratch_);
    batch_ = teacher.rows();
    input_.forward(teacher, student, options_.normalize);
    const gpu::DeviceMatrix<Scalar>& r = residual_.forward(input_.value().view());
    composed_.resize(batch_, composed_dim());
    gpu::add<Scalar>(teacher, r.view(), composed_.mutable_view());
    const gpu::DeviceMatrix<Scalar>& logits = classifier_.forward(composed_.view());
    return {composed_.view(), logits.view()};
  }

  void backward(EmbeddingView<const Scalar, cuda> grad_composed,
                EmbeddingView<const Scalar, cuda> grad_logits,
                EmbeddingView<Scalar, cuda> grad_student,
                EmbeddingView<Scalar, cuda> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Residual::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_device_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_);
    // x_tv = x_t + r: the identity path into the teacher ...
    if (detail::given(grad_teacher)) gpu::accumulate<Scalar>(grad_tv_.view(), grad_teacher);
    // ... and W_1 into both halves of the concatenation.
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) detail::zeroed(grad_concat_, batch_, teacher_dim() + student_dim());
    residual_.backward(grad_tv_.view(),
                       inputs ? grad_concat_.mutable_view() : EmbeddingView<Scalar, cuda>{}, mode);
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

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Residual: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    return teacher_dim;
  }

  nn::Linear<Scalar, cuda> residual_;
  nn::Linear<Scalar, cuda> classifier_;
  Options options_;
  Index student_dim_;
  Index batch_ = 0;
  detail::DeviceConcatInput<Scalar> input_;
  gpu::DeviceMatrix<Scalar> composed_, grad_tv_, grad_concat_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

static_assert(assert_composition<Residual<float, cuda>>());

}  // namespace ccl::compose
