#pragma once
// CorObjective<Scalar>: COR of Table 1 — correlation congruence in RepDistiller's form (method.md
// §8.4) — as a branch objective:
//
//   e_s = E_s x_v,  e_t = E_t x_t  (two trainable LinearEmbed heads, Linear(d → 128)),
//   L = (1/(B−1)) Σ_i Σ_d |e_s − e_t|_{i,d} |e_s − e_t|_{i+1,d},   student objective += β · L,
//
// β = 0.02. Both heads are trained jointly with the student on β · L — the teacher's head too,
// although the teacher itself is frozen and gets no gradient. Their parameters are
// "embed_student.weight/bias" and "embed_teacher.weight/bias". The loss couples consecutive rows
// only, so the training set must be shuffled (the Trainer does).

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/loss/baselines/embed_heads.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/objectives/baseline_terms.hpp>
#include <ccl/pipeline/objectives/detail/embed_head.hpp>

#include <utility>

namespace ccl::pipeline::objectives {

template <class Scalar = float>
class CorObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives::CorObjective: the scalar type must be float or double");

 public:
  using Terms = BaselineTerms<Scalar>;
  using Loss = loss::baselines::WithEmbedHeads<loss::baselines::CorrelationCongruence<Scalar>,
                                               nn::Linear<Scalar>, Scalar>;
  static constexpr double default_beta =
      loss::baselines::CorrelationCongruence<Scalar>::default_beta;

  /// Heads Linear(student_dim → embed_dim) and Linear(teacher_dim → embed_dim), student head
  /// drawn first from `rng`.
  CorObjective(Index student_dim, Index teacher_dim, Rng& rng, double beta = default_beta,
               Index embed_dim = default_embed_dim)
      : loss_(make_loss(student_dim, teacher_dim, embed_dim, rng)),
        beta_(detail::checked_beta("CorObjective", beta)) {}

  double beta() const { return beta_; }
  nn::Linear<Scalar>& student_head() { return loss_.student_head(); }
  nn::Linear<Scalar>& teacher_head() { return loss_.teacher_head(); }

  template <class Composition>
  Terms accumulate(Composition& /*composition*/, EmbeddingView<const Scalar> x_v,
                   EmbeddingView<const Scalar> /*z_v*/, EmbeddingView<const Scalar> x_t,
                   LabelView labels, EmbeddingView<Scalar> grad_x_v,
                   EmbeddingView<Scalar> /*grad_z_v*/) {
    static_assert(detail::assert_no_composition<Composition, Scalar>());
    constexpr const char* op = "CorObjective";
    checks::same_rows(op, "x_v", x_v, "x_t", x_t);
    checks::labels_match(op, x_v.rows(), labels);
    require(x_v.cols() == student_head().in_features() &&
                x_t.cols() == teacher_head().in_features(),
            op, ": embeddings of shapes x_v ", x_v.shape(), " and x_t ", x_t.shape(),
            " but the heads take ", student_head().in_features(), "-d and ",
            teacher_head().in_features(), "-d inputs");
    // The teacher head learns from grad_e_t even though no teacher gradient is requested.
    const Scalar value = loss_.accumulate(x_v, x_t, labels, Scalar(beta_), grad_x_v, {});
    return detail::make_terms(value, beta_, /*has_modules=*/true);
  }

  /// The two heads' parameters (student head first).
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    loss_.for_each_parameter(visit);
  }

  void zero_grad() {
    student_head().zero_grad();
    teacher_head().zero_grad();
  }

 private:
  static Loss make_loss(Index student_dim, Index teacher_dim, Index embed_dim, Rng& rng) {
    auto student = detail::embed_head<Scalar>("CorObjective", "embed_student", student_dim,
                                              embed_dim, rng);
    auto teacher = detail::embed_head<Scalar>("CorObjective", "embed_teacher", teacher_dim,
                                              embed_dim, rng);
    return Loss({}, std::move(student), std::move(teacher));
  }

  Loss loss_;
  double beta_;
};

}  // namespace ccl::pipeline::objectives
