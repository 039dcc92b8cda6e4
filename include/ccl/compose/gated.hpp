#pragma once
// compose::Gated<Scalar>: a gated mixture, an ablation beside the paper's residual head
// (method.md §3.4):
//
//   g    = σ(W_g · [x̂_t ; x̂_v] + b_g)        per-feature gate in (0, 1), W_g ∈ R^{D × 2D}
//   x_tv = g ⊙ x_t + (1 − g) ⊙ x_v
//   z_tv = W_2 · x_tv + b_2
//
// The gate decides, feature by feature and sample by sample, how much of the teacher to keep;
// the composed embedding stays in the convex hull of the two inputs. Needs teacher_dim ==
// student_dim. Interface: compose/composition.hpp.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/detail/common.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <type_traits>

namespace ccl::compose {

struct GatedOptions {
  /// L2-normalise x_t and x_v before the gate's linear layer.
  bool normalize = true;
  /// Scan the inputs of forward for NaN/Inf and throw ccl::error.
  bool check_finite = true;
};

// The primary template is the host policy; Gated<Scalar, ccl::cuda> is in
// <ccl/cuda/compose/gated.hpp>.
template <class Scalar, class Backend = cpu>
class Gated {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::compose::Gated<Scalar, ccl::cuda> lives in <ccl/cuda/compose/gated.hpp>; "
                "include it (or <ccl/cuda.hpp>) to compose on the GPU");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
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

  nn::Linear<Scalar>& gate() { return gate_; }
  const nn::Linear<Scalar>& gate() const { return gate_; }
  nn::Linear<Scalar>& classifier() { return classifier_; }
  const nn::Linear<Scalar>& classifier() const { return classifier_; }

  CompositionOutput<Scalar> forward(EmbeddingView<const Scalar> teacher,
                                    EmbeddingView<const Scalar> student) {
    detail::check_inputs("compose::Gated", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite);
    batch_ = teacher.rows();
    teacher_ = teacher.matrix();
    student_ = student.matrix();
    input_.forward(teacher, student, options_.normalize);
    // σ(a) = 1 / (1 + e^{-a}) saturates to 0 or 1 without NaN for any finite a.
    gate_values_ = (1 + (-gate_.forward(view(input_.value())).array()).exp()).inverse().matrix();
    composed_ = (gate_values_.array() * teacher_.array() +
                 (1 - gate_values_.array()) * student_.array())
                    .matrix();
    const RowMatrix<Scalar>& logits = classifier_.forward(view(composed_));
    return {view(composed_), view(logits)};
  }

  void backward(EmbeddingView<const Scalar> grad_composed, EmbeddingView<const Scalar> grad_logits,
                EmbeddingView<Scalar> grad_student, EmbeddingView<Scalar> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    detail::check_backward("compose::Gated::backward", batch_, grad_composed, composed_dim(),
                           grad_logits, classes(), grad_student, student_dim(), grad_teacher,
                           teacher_dim());
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_,
                              composed_dim(), grad_tv_);
    const auto g = gate_values_.array();
    if (detail::given(grad_teacher)) grad_teacher.matrix().array() += grad_tv_.array() * g;
    if (detail::given(grad_student)) grad_student.matrix().array() += grad_tv_.array() * (1 - g);
    // dL/da = dL/dx_tv ⊙ (x_t − x_v) ⊙ σ'(a), σ' = g (1 − g).
    grad_gate_ = (grad_tv_.array() * (teacher_.array() - student_.array()) * g * (1 - g)).matrix();
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) grad_concat_.setZero(batch_, 2 * teacher_dim());
    gate_.backward(view(grad_gate_), inputs ? mutable_view(grad_concat_) : EmbeddingView<Scalar>{},
                   mode);
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
    require(teacher_dim == student_dim, "compose::Gated: the gate mixes x_t and x_v feature by "
            "feature, so teacher_dim must equal student_dim, got ", teacher_dim, " and ",
            student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar> gate_;
  nn::Linear<Scalar> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::ConcatInput<Scalar> input_;
  RowMatrix<Scalar> teacher_, student_, gate_values_, composed_, grad_tv_, grad_gate_,
      grad_concat_;
};

static_assert(assert_composition<Gated<float>>());

}  // namespace ccl::compose
