#pragma once
// compose::Gated<Scalar, ccl::cuda>: the gated mixture of compose/gated.hpp on the device,
//   g = σ(W_g · [x̂_t ; x̂_v] + b_g),  x_tv = g ⊙ x_t + (1 − g) ⊙ x_v,  z_tv = W_2 · x_tv + b_2,
// with device views, Parameter<Scalar, ccl::cuda>, the CPU policy's names, options, checks and
// messages. The gate's elementwise forward and backward are one kernel each
// (kernels/gated.cuh, whose per-element formulas a host test checks against the CPU's).

#include <ccl/compose/composition.hpp>
#include <ccl/compose/gated.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/compose/detail/common.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/gated.cuh>
#include <ccl/cuda/kernels/rowwise.cuh>
#include <ccl/cuda/nn/linear.hpp>

#include <cstddef>

namespace ccl::compose {

template <class Scalar>
class Gated<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Options = GatedOptions;

  Gated(Index teacher_dim, Index student_dim, Index classes, Options options = {})
      : gate_(2 * checked(teacher_dim, student_dim, classes), teacher_dim),
        classifier_(teacher_dim, classes),
        options_(options) {
    gate_.weight().name = "gate.weight";
    gate_.bias().name = "gate.bias";
    classifier_.weight().name = "classifier.weight";
    classifier_.bias().name = "classifier.bias";
    gate_.set_check_finite(false);
    classifier_.set_check_finite(false);
  }

  Gated(Index teacher_dim, Index student_dim, Index classes, Rng& rng, Options options = {})
      : Gated(teacher_dim, student_dim, classes, options) {
    reset_parameters(rng);
  }

  void reset_parameters(Rng& rng) {
    gate_.reset_parameters(rng);
    classifier_.reset_parameters(rng);
  }

  Index teacher_dim() const { return classifier_.in_features(); }
  Index student_dim() const { return classifier_.in_features(); }
  Index composed_dim() const { return classifier_.in_features(); }
  Index classes() const { return classifier_.out_features(); }

  nn::Linear<Scalar, cuda>& gate() { return gate_; }
  const nn::Linear<Scalar, cuda>& gate() const { return gate_; }
  nn::Linear<Scalar, cuda>& classifier() { return classifier_; }
  const nn::Linear<Scalar, cuda>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, cuda> forward(EmbeddingView<const Scalar, cuda> teacher,
                                          EmbeddingView<const Scalar, cuda> student) {
    detail::check_device_inputs("compose::Gated", teacher, student, teacher_dim(), student_dim(),
                                options_.check_finite, finite_scratch_);
    batch_ = teacher.rows();
    const cudaStream_t stream = gpu::settings().stream;
    // Copies, as on the CPU: backward needs x_t − x_v even if the caller reuses its buffers.
    teacher_.resize(batch_, teacher_dim());
    student_.resize(batch_, student_dim());
    gpu::copy<Scalar>(teacher, teacher_.mutable_view(), stream);
    gpu::copy<Scalar>(student, student_.mutable_view(), stream);
    input_.forward(teacher, student, options_.normalize);
    const gpu::DeviceMatrix<Scalar>& a = gate_.forward(input_.value().view());
    gate_values_.resize(batch_, teacher_dim());
    composed_.resize(batch_, teacher_dim());
    const long long count = static_cast<long long>(batch_) * teacher_dim();
    gpu::kernels::gated_forward_kernel<Scalar>
        <<<gpu::kernels::elementwise_blocks(count), gpu::kernels::elementwise_threads, 0, stream>>>(
            a.data(), teacher_.data(), static_cast<std::ptrdiff_t>(teacher_dim()), student_.data(),
            static_cast<std::ptrdiff_t>(student_dim()), int(batch_), int(teacher_dim()),
            gate_values_.data(), composed_.data());
    CCL_CUDA_CHECK_LAUNCH("gated_forward_kernel");
    const gpu::DeviceMatrix<Scalar>& logits = classifier_.forward(composed_.view());
    return {composed_.view(), logits.view()};
  }

  void backward(EmbeddingView<const Scalar, cuda> grad_composed,
                EmbeddingView<const Scalar, cuda> grad_logits,
                EmbeddingView<Scalar, cuda> grad_student,
                EmbeddingView<Scalar, cuda> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Gated::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_device_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_);
    const cudaStream_t stream = gpu::settings().stream;
    grad_gate_.resize(batch_, teacher_dim());
    const long long count = static_cast<long long>(batch_) * teacher_dim();
    gpu::kernels::gated_backward_kernel<Scalar>
        <<<gpu::kernels::elementwise_blocks(count), gpu::kernels::elementwise_threads, 0, stream>>>(
            grad_tv_.data(), gate_values_.data(), teacher_.data(), student_.data(), int(batch_),
            int(teacher_dim()), grad_gate_.data(),
            detail::given(grad_teacher) ? grad_teacher.data() : nullptr,
            static_cast<std::ptrdiff_t>(grad_teacher.row_stride()),
            detail::given(grad_student) ? grad_student.data() : nullptr,
            static_cast<std::ptrdiff_t>(grad_student.row_stride()));
    CCL_CUDA_CHECK_LAUNCH("gated_backward_kernel");
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) detail::zeroed(grad_concat_, batch_, 2 * teacher_dim());
    gate_.backward(grad_gate_.view(),
                   inputs ? grad_concat_.mutable_view() : EmbeddingView<Scalar, cuda>{}, mode);
    if (inputs) input_.backward(grad_concat_, grad_teacher, grad_student);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    gate_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    gate_.for_each_parameter(visit);
    classifier_.for_each_parameter(visit);
  }

  void zero_grad() {
    gate_.zero_grad();
    classifier_.zero_grad();
  }

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Gated: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    require(teacher_dim == student_dim,
            "compose::Gated: the gate mixes x_t and x_v feature by "
            "feature, so teacher_dim must equal student_dim, got ",
            teacher_dim, " and ", student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar, cuda> gate_;
  nn::Linear<Scalar, cuda> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::DeviceConcatInput<Scalar> input_;
  gpu::DeviceMatrix<Scalar> teacher_, student_, gate_values_, composed_, grad_tv_, grad_gate_,
      grad_concat_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

static_assert(assert_composition<Gated<float, cuda>>());

}  // namespace ccl::compose
