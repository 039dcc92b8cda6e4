#pragma once
// Distill<Loss>: the paper's λ-weighted compositional distillation term (method.md §4.5),
//
//   L(x_v, x_t, x_tv) = λ · L_pair(x_v, x_t) + (1 - λ) · L_pair(x_v, x_tv),
//
// for any pair loss (MultiClassNce by default in the paper; Symmetric<...> for the official
// code's weighting, which corresponds to λ = 1/2 up to a factor 2). Gradients are returned for the
// student x_v, the raw teacher x_t (usually left empty: teachers are frozen) and the composed
// x_tv (which flows into the composition head and, through it, into the student).

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <cmath>
#include <utility>

namespace ccl::loss {

template <class Scalar>
struct DistillResult {
  Scalar value{};
  Scalar raw_term{};       ///< L_pair(x_v, x_t), unweighted
  Scalar composed_term{};  ///< L_pair(x_v, x_tv), unweighted
  RowMatrix<Scalar> grad_student, grad_teacher, grad_composed;
};

template <class Loss, class Scalar = float>
class Distill {
  static_assert(is_pair_loss_v<Loss, Scalar>,
                "ccl::loss::Distill<Loss, Scalar>: Loss must provide the pair-loss "
                "accumulate(f, g, labels, weight, grad_f, grad_g) for this Scalar");

 public:
  Distill(Loss loss, double lambda) : loss_(std::move(loss)), lambda_(lambda) {
    require(std::isfinite(lambda) && lambda >= 0 && lambda <= 1,
            "Distill: lambda must lie in [0, 1], got ", lambda);
  }

  double lambda() const { return lambda_; }
  Loss& inner() { return loss_; }

  /// Returns the weighted value and adds weight * its gradients into the non-empty views.
  Scalar accumulate(EmbeddingView<const Scalar> student, EmbeddingView<const Scalar> teacher,
                    EmbeddingView<const Scalar> composed, LabelView labels, Scalar weight,
                    EmbeddingView<Scalar> grad_student, EmbeddingView<Scalar> grad_teacher,
                    EmbeddingView<Scalar> grad_composed, DistillResult<Scalar>* parts = nullptr) {
    checks::same_shape("distill", "student", student, "teacher", teacher);
    checks::same_shape("distill", "student", student, "composed", composed);
    const Scalar lambda = Scalar(lambda_);
    const Scalar raw = loss_.accumulate(student, teacher, labels, weight * lambda, grad_student,
                                        grad_teacher);
    const Scalar comp = loss_.accumulate(student, composed, labels, weight * (1 - lambda),
                                         grad_student, grad_composed);
    if (parts != nullptr) {
      parts->raw_term = raw;
      parts->composed_term = comp;
    }
    return lambda * raw + (1 - lambda) * comp;
  }

  DistillResult<Scalar> operator()(EmbeddingView<const Scalar> student,
                                   EmbeddingView<const Scalar> teacher,
                                   EmbeddingView<const Scalar> composed, LabelView labels) {
    DistillResult<Scalar> result;
    result.grad_student = RowMatrix<Scalar>::Zero(student.rows(), student.cols());
    result.grad_teacher = RowMatrix<Scalar>::Zero(teacher.rows(), teacher.cols());
    result.grad_composed = RowMatrix<Scalar>::Zero(composed.rows(), composed.cols());
    result.value = accumulate(student, teacher, composed, labels, Scalar(1),
                              mutable_view(result.grad_student), mutable_view(result.grad_teacher),
                              mutable_view(result.grad_composed), &result);
    return result;
  }

 private:
  Loss loss_;
  double lambda_;
};

}  // namespace ccl::loss
