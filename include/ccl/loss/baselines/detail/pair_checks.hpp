#pragma once
// The argument checks every (student, teacher) baseline loss starts with. Relational losses
// (PKT, RKD, IFD) compare each side's own similarity structure, so the two sides may have
// different widths; feature-matching losses (FitNet, COR) need identical shapes.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>

namespace ccl::loss::baselines::detail {

enum class Widths { may_differ, must_match };

template <class Scalar>
void check_pair(const char* op, const EmbeddingView<const Scalar>& student,
                const EmbeddingView<const Scalar>& teacher, const EmbeddingView<Scalar>& grad_student,
                const EmbeddingView<Scalar>& grad_teacher, Widths widths, bool check_finite) {
  checks::non_empty(op, "student", student);
  checks::non_empty(op, "teacher", teacher);
  if (widths == Widths::must_match) {
    checks::same_shape(op, "student", student, "teacher", teacher);
  } else {
    checks::same_rows(op, "student", student, "teacher", teacher);
  }
  checks::gradient_shape(op, "student", student, "grad_student", grad_student);
  checks::gradient_shape(op, "teacher", teacher, "grad_teacher", grad_teacher);
  if (check_finite) {
    checks::finite(op, "student", student);
    checks::finite(op, "teacher", teacher);
  }
}

}  // namespace ccl::loss::baselines::detail
