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
#include <ccl/core/backend_matrix.hpp>
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

namespace detail {

/// The gate's elementwise part, the one piece of Gated that is backend-specific (a kernel on the
/// device, <ccl/cuda/compose/gated.hpp>): this primary template is the host one.
///   forward:  g = σ(a),  x_tv = g ⊙ x_t + (1 − g) ⊙ x_v
///   backward: grad_t += dx_tv ⊙ g,  grad_v += dx_tv ⊙ (1 − g),  da = dx_tv ⊙ (x_t − x_v) ⊙ g (1 −
///   g)
template <class Scalar, class Backend>
struct GateMix {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::compose::Gated<Scalar, ccl::cuda> needs <ccl/cuda/compose/gated.hpp> (or "
                "<ccl/cuda.hpp>) for its device kernels");

  static void forward(const RowMatrix<Scalar>& a, const RowMatrix<Scalar>& teacher,
                      const RowMatrix<Scalar>& student, RowMatrix<Scalar>& gate,
                      RowMatrix<Scalar>& composed, const Execution<cpu>& = {}) {
    // σ(a) = 1 / (1 + e^{-a}) saturates to 0 or 1 without NaN for any finite a.
    gate = (1 + (-a.array()).exp()).inverse().matrix();
    composed = (gate.array() * teacher.array() + (1 - gate.array()) * student.array()).matrix();
  }

  static void backward(const RowMatrix<Scalar>& grad_tv, const RowMatrix<Scalar>& gate,
                       const RowMatrix<Scalar>& teacher, const RowMatrix<Scalar>& student,
                       RowMatrix<Scalar>& grad_gate, EmbeddingView<Scalar> grad_teacher,
                       EmbeddingView<Scalar> grad_student, const Execution<cpu>& = {}) {
    const auto g = gate.array();
    if (given(grad_teacher)) grad_teacher.matrix().array() += grad_tv.array() * g;
    if (given(grad_student)) grad_student.matrix().array() += grad_tv.array() * (1 - g);
    // dL/da = dL/dx_tv ⊙ (x_t − x_v) ⊙ σ'(a), σ' = g (1 − g).
    grad_gate = (grad_tv.array() * (teacher.array() - student.array()) * g * (1 - g)).matrix();
  }
};

}  // namespace detail

// Written once for every backend (over nn::Linear<Scalar, Backend>, the ops of
// core/backend_matrix.hpp and detail::GateMix); ccl::cuda needs <ccl/cuda/compose/gated.hpp> (or
// <ccl/cuda.hpp>).
template <class Scalar, class Backend = cpu>
class Gated {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::compose::Gated<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/compose/gated.hpp> or <ccl/cuda.hpp>)");

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

  nn::Linear<Scalar, Backend>& gate() { return gate_; }
  const nn::Linear<Scalar, Backend>& gate() const { return gate_; }
  nn::Linear<Scalar, Backend>& classifier() { return classifier_; }
  const nn::Linear<Scalar, Backend>& classifier() const { return classifier_; }

  CompositionOutput<Scalar, Backend> forward(EmbeddingView<const Scalar, Backend> teacher,
                                             EmbeddingView<const Scalar, Backend> student) {
    detail::check_inputs("compose::Gated", teacher, student, teacher_dim(), student_dim(),
                         options_.check_finite, scratch_);
    batch_ = teacher.rows();
    // Copies: backward needs x_t − x_v even if the caller reuses its buffers.
    assign(teacher_, teacher, scratch_.execution);
    assign(student_, student, scratch_.execution);
    input_.forward(teacher, student, options_.normalize);
    detail::GateMix<Scalar, Backend>::forward(gate_.forward(view(input_.value())), teacher_,
                                              student_, gate_values_, composed_,
                                              scratch_.execution);
    const backend_matrix_t<Scalar, Backend>& logits = classifier_.forward(view(composed_));
    return {view(composed_), view(logits)};
  }

  void backward(EmbeddingView<const Scalar, Backend> grad_composed,
                EmbeddingView<const Scalar, Backend> grad_logits,
                EmbeddingView<Scalar, Backend> grad_student,
                EmbeddingView<Scalar, Backend> grad_teacher = {},
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    constexpr const char* op = "compose::Gated::backward";
    detail::check_backward(op, batch_, grad_composed, composed_dim(), grad_logits, classes(),
                           grad_student, student_dim(), grad_teacher, teacher_dim());
    detail::require_backend_gradients(op, grad_composed, grad_logits, grad_student, grad_teacher);
    detail::composed_gradient(classifier_, grad_composed, grad_logits, mode, batch_, composed_dim(),
                              grad_tv_, scratch_.execution);
    detail::GateMix<Scalar, Backend>::backward(grad_tv_, gate_values_, teacher_, student_,
                                               grad_gate_, grad_teacher, grad_student,
                                               scratch_.execution);
    const bool inputs = detail::given(grad_teacher) || detail::given(grad_student);
    if (inputs) set_zero(grad_concat_, batch_, 2 * teacher_dim(), scratch_.execution);
    gate_.backward(view(grad_gate_),
                   inputs ? mutable_view(grad_concat_) : EmbeddingView<Scalar, Backend>{}, mode);
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

  /// Runs every op of the composition with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, gate_, classifier_, input_, scratch_);
  }

 private:
  static Index checked(Index teacher_dim, Index student_dim, Index classes) {
    require(teacher_dim > 0 && student_dim > 0 && classes > 0,
            "compose::Gated: teacher_dim, student_dim and classes must be positive, got ",
            teacher_dim, ", ", student_dim, ", ", classes);
    require(teacher_dim == student_dim,
            "compose::Gated: the gate mixes x_t and x_v feature by feature, so teacher_dim must "
            "equal student_dim, got ",
            teacher_dim, " and ", student_dim);
    return teacher_dim;
  }

  nn::Linear<Scalar, Backend> gate_;
  nn::Linear<Scalar, Backend> classifier_;
  Options options_;
  Index batch_ = 0;
  detail::ConcatInput<Scalar, Backend> input_;
  backend_matrix_t<Scalar, Backend> teacher_, student_, gate_values_, composed_, grad_tv_,
      grad_gate_, grad_concat_;
  OpScratch<Scalar, Backend> scratch_;
};

static_assert(assert_composition<Gated<float>>());

}  // namespace ccl::compose
