#pragma once
// CorObjective<Scalar, Backend>: COR of Table 1 — correlation congruence in RepDistiller's form
// (method.md §8.4) — as a branch objective:
//
//   e_s = E_s x_v,  e_t = E_t x_t  (two trainable LinearEmbed heads, Linear(d → 128)),
//   L = (1/(B−1)) Σ_i Σ_d |e_s − e_t|_{i,d} |e_s − e_t|_{i+1,d},   student objective += β · L,
//
// β = 0.02. Both heads are trained jointly with the student on β · L — the teacher's head too,
// although the teacher itself is frozen and gets no gradient. Their parameters are
// "embed_student.weight/bias" and "embed_teacher.weight/bias". The loss couples consecutive rows
// only, so the training set must be shuffled (the Trainer does).
//
// Backend ccl::cpu (default) or ccl::cuda (include <ccl/cuda.hpp>): the heads, the loss and the
// views are the backend's; the code is the same (detail::EmbedHeads runs the heads).

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/objectives/baseline_terms.hpp>
#include <ccl/pipeline/objectives/detail/embed_head.hpp>

namespace ccl::pipeline::objectives {

template <class Scalar = float, class Backend = cpu>
class CorObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives::CorObjective: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::objectives::CorObjective: the second argument must be ccl::cpu or "
                "ccl::cuda");

  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;

 public:
  using Terms = BaselineTerms<Scalar>;
  using backend_type = Backend;
  /// The loss on the heads' outputs.
  using Loss = loss::baselines::CorrelationCongruence<Scalar, Backend>;
  using Head = nn::Linear<Scalar, Backend>;
  static constexpr double default_beta =
      loss::baselines::CorrelationCongruence<Scalar>::default_beta;

  /// Heads Linear(student_dim → embed_dim) and Linear(teacher_dim → embed_dim), student head
  /// drawn first from `rng`.
  CorObjective(Index student_dim, Index teacher_dim, Rng& rng, double beta = default_beta,
               Index embed_dim = default_embed_dim)
      : heads_("CorObjective", student_dim, teacher_dim, embed_dim, rng),
        beta_(detail::checked_beta("CorObjective", beta)) {}

  double beta() const { return beta_; }
  Loss& loss() { return loss_; }
  Head& student_head() { return heads_.student(); }
  Head& teacher_head() { return heads_.teacher(); }

  template <class Composition>
  Terms accumulate(Composition& /*composition*/, View x_v, View /*z_v*/, View x_t, LabelView labels,
                   MutableView grad_x_v, MutableView /*grad_z_v*/) {
    static_assert(detail::assert_no_composition<Composition, Scalar>());
    constexpr const char* op = "CorObjective";
    checks::same_rows(op, "x_v", x_v, "x_t", x_t);
    checks::labels_match(op, x_v.rows(), labels);
    heads_.check_inputs(op, x_v, x_t);
    // The teacher head learns from grad_e_t even though no teacher gradient is requested.
    const Scalar value =
        heads_.run(x_v, x_t, grad_x_v, [&](View e_s, View e_t, MutableView g_s, MutableView g_t) {
          return loss_.accumulate(e_s, e_t, labels, Scalar(beta_), g_s, g_t);
        });
    return detail::make_terms(value, beta_, /*has_modules=*/true);
  }

  /// The two heads' parameters (student head first).
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    heads_.for_each_parameter(visit);
  }

  void zero_grad() { heads_.zero_grad(); }

  /// The heads and the loss run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, heads_, loss_);
  }

 private:
  detail::EmbedHeads<Scalar, Backend> heads_;
  Loss loss_;
  double beta_;
};

}  // namespace ccl::pipeline::objectives
