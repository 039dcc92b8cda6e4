#pragma once
// compose::Sum<Scalar, ccl::cuda>: x_tv = x_t + x_v with its classifier head z_tv = W_2 · x_tv +
// b_2 (compose/sum.hpp) on the device: device views, Parameter<Scalar, ccl::cuda>, the CPU policy's
// names, checks and messages.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/sum.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/compose/detail/common.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/rowwise.hpp>

namespace ccl::compose {

template <class Scalar>
class Sum<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Options = SumOptions;

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

  nn::Linear<Scalar, cuda>& classifier() { return classifier_; }
  const nn::Linear<Scalar, cuda>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, cuda> forward(EmbeddingView<const Scalar, cuda> teacher,
                                          EmbeddingView<const Scalar, cuda> student) {
    detail::check_device_inputs("compose::Sum", teacher, student, teacher_dim(), student_dim(),
                                options_.check_finite, finite_scratch_);
    batch_ = teacher.rows();
    composed_.resize(batch_, composed_dim());
    gpu::add<Scalar>(teacher, student, composed_.mutable_view());
    const gpu::DeviceMatrix<Scalar>& logits = classifier_.forward(composed_.view());
    return {composed_.view(), logits.view()};
  }

  void backward(EmbeddingView<const Scalar, cuda> grad_composed,
                EmbeddingView<const Scalar, cuda> grad_logits,
                EmbeddingView<Scalar, cuda> grad_student,
                EmbeddingView<Scalar, cuda> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Sum::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_device_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_);
    if (detail::given(grad_student)) gpu::accumulate<Scalar>(grad_tv_.view(), grad_student);
    if (detail::given(grad_teacher)) gpu::accumulate<Scalar>(grad_tv_.view(), grad_teacher);
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
    require(teacher_dim == student_dim,
            "compose::Sum: x_t + x_v needs teacher_dim == "
            "student_dim, got ",
            teacher_dim, " and ", student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar, cuda> classifier_;
  Options options_;
  Index batch_ = 0;
  gpu::DeviceMatrix<Scalar> composed_, grad_tv_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

static_assert(assert_composition<Sum<float, cuda>>());

}  // namespace ccl::compose
