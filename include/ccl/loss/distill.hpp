#pragma once
// Distill<Loss>: the paper's λ-weighted compositional distillation term (method.md §4.5),
//
//   L(x_v, x_t, x_tv) = λ · L_pair(x_v, x_t) + (1 - λ) · L_pair(x_v, x_tv),
//
// for any pair loss (MultiClassNce by default in the paper; Symmetric<...> for the official
// code's weighting, which corresponds to λ = 1/2 up to a factor 2). Gradients are returned for the
// student x_v, the raw teacher x_t (usually left empty: teachers are frozen) and the composed
// x_tv (which flows into the composition head and, through it, into the student).
//
// The views are the inner loss's backend's (device views around a ccl::cuda loss; the Backend
// argument defaults to the inner loss's). DistillResult, the result of the allocating
// operator(), is written once over the backend's matrix type, like PairLossResult.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <cmath>
#include <type_traits>
#include <utility>

namespace ccl::loss {

template <class Scalar, class Backend = cpu>
struct DistillResult {
  Scalar value{};
  Scalar raw_term{};       ///< L_pair(x_v, x_t), unweighted
  Scalar composed_term{};  ///< L_pair(x_v, x_tv), unweighted
  backend_matrix_t<Scalar, Backend> grad_student, grad_teacher, grad_composed;

  /// Zero gradients shaped like the three inputs (what operator() accumulates into).
  static DistillResult zeros(const EmbeddingView<const Scalar, Backend>& student,
                             const EmbeddingView<const Scalar, Backend>& teacher,
                             const EmbeddingView<const Scalar, Backend>& composed,
                             const Execution<Backend>& execution = {}) {
    DistillResult result;
    result.grad_student = detail::zeros_like(student, execution);
    result.grad_teacher = detail::zeros_like(teacher, execution);
    result.grad_composed = detail::zeros_like(composed, execution);
    return result;
  }
  EmbeddingView<Scalar, Backend> grad_student_view() { return mutable_view(grad_student); }
  EmbeddingView<Scalar, Backend> grad_teacher_view() { return mutable_view(grad_teacher); }
  EmbeddingView<Scalar, Backend> grad_composed_view() { return mutable_view(grad_composed); }
};

template <class Loss, class Scalar = float, class Backend = detail::loss_backend_t<Loss>>
class Distill {
  static_assert(is_pair_loss_v<Loss, Scalar, Backend>,
                "ccl::loss::Distill<Loss, Scalar, Backend>: Loss must provide the pair-loss "
                "accumulate(f, g, labels, weight, grad_f, grad_g) for this Scalar on this "
                "Backend's views");

 public:
  Distill(Loss loss, double lambda) : loss_(std::move(loss)), lambda_(lambda) {
    require(std::isfinite(lambda) && lambda >= 0 && lambda <= 1,
            "Distill: lambda must lie in [0, 1], got ", lambda);
  }

  double lambda() const { return lambda_; }
  Loss& inner() { return loss_; }

  void set_execution(const Execution<Backend>& execution) { ccl::set_execution(loss_, execution); }
  Execution<Backend> execution() const { return execution_of<Backend>(loss_); }

  /// Returns the weighted value and adds weight * its gradients into the non-empty views.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher,
                    EmbeddingView<const Scalar, Backend> composed, LabelView labels, Scalar weight,
                    EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher,
                    EmbeddingView<Scalar, Backend> grad_composed,
                    DistillResult<Scalar, Backend>* parts = nullptr) {
    checks::same_shape("distill", "student", student, "teacher", teacher);
    checks::same_shape("distill", "student", student, "composed", composed);
    const Scalar lambda = Scalar(lambda_);
    const Scalar raw =
        loss_.accumulate(student, teacher, labels, weight * lambda, grad_student, grad_teacher);
    const Scalar comp = loss_.accumulate(student, composed, labels, weight * (1 - lambda),
                                         grad_student, grad_composed);
    if (parts != nullptr) {
      parts->raw_term = raw;
      parts->composed_term = comp;
    }
    return lambda * raw + (1 - lambda) * comp;
  }

  DistillResult<Scalar, Backend> operator()(EmbeddingView<const Scalar, Backend> student,
                                            EmbeddingView<const Scalar, Backend> teacher,
                                            EmbeddingView<const Scalar, Backend> composed,
                                            LabelView labels) {
    auto result = DistillResult<Scalar, Backend>::zeros(student, teacher, composed, execution());
    result.value =
        accumulate(student, teacher, composed, labels, Scalar(1), result.grad_student_view(),
                   result.grad_teacher_view(), result.grad_composed_view(), &result);
    return result;
  }

 private:
  Loss loss_;
  double lambda_;
};

}  // namespace ccl::loss
