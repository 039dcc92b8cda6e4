#pragma once
// CclObjective: one teacher branch of compositional contrastive learning — every loss term that
// involves the teacher embedding x_t, the composed embedding x_tv = F(x_t, x_v) and the student's
// x_v and z_v, with the gradient routing of either the official code or the paper.
//
// The terms (NCE = multi-class NCE with the branch's τ; "sym" = both anchor directions summed):
//   student_composed   NCE(x_v, x_tv)       composed_teacher   NCE(x_tv, x_t)
//   student_teacher    NCE(x_v, x_t)        posterior          JSD(z_v, z_tv)   (SymmetricKl)
//   composed_ce        CE(z_tv, y)
// Each term carries two weights: its weight in the *student's* objective (whose gradient reaches
// the student through x_v directly and through the composition head's input) and its weight in
// the *head's* objective (whose gradient reaches only the head's parameters).
//
// Routing::official reproduces training.py exactly (method.md §4.6). With loss_weight w (1 for a
// single teacher, 0.5 per branch in AI mode) the student minimises w·(sym_vm + sym_va + J) and the
// head receives ∇[CE_tv + sym_vm + sym_ma + J] + w·∇[sym_vm + J]: the code back-propagates the
// head's total, zeroes the *student's* gradients only, then back-propagates the student's total,
// which adds into the head. Hence head weights 1 + w on sym_vm and J.
// Routing::paper is Algorithm A of the supplement (method.md §4.5): the student minimises
// λ·NCE(x_v, x_t) + (1 − λ)·NCE(x_v, x_tv) + J (one anchor direction), the head CE_tv only.
// In both, the student's CE(z_v, y) is not a branch term: the pipeline adds it once.
//
// Backend: ccl::cpu (default) or ccl::cuda; with ccl::cuda the losses are the device ones, the
// views and the gradient workspaces live in device memory, and the composition must be a device
// composition (include <ccl/cuda.hpp>).

#include <ccl/compose/composition.hpp>
#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/symmetric_kl.hpp>
#include <ccl/nn/linear.hpp>

#include <cmath>

namespace ccl::pipeline {

enum class Routing {
  official,  ///< training.py of the official code (method.md §4.6)
  paper,     ///< Algorithm A of the supplement: heads trained by CE only (method.md §4.5)
};

/// A term's weight in the student's objective and in the composition head's.
struct TermWeights {
  double student = 0;
  double head = 0;
  bool active() const { return student != 0 || head != 0; }
};

struct CclTermWeights {
  TermWeights student_composed, student_teacher, composed_teacher, posterior, composed_ce;
  bool symmetric = true;  ///< contrastive terms summed over both anchor directions

  static CclTermWeights official(double loss_weight) {
    const double w = loss_weight;
    return {{w, 1 + w}, {w, 0}, {0, 1}, {w, 1 + w}, {0, 1}, true};
  }
  static CclTermWeights paper(double lambda) {
    return {{1 - lambda, 0}, {lambda, 0}, {0, 0}, {1, 0}, {0, 1}, false};
  }
};

struct CclObjectiveOptions {
  Routing routing = Routing::official;
  /// τ of the branch's contrastive terms (official: 0.5 audio, 0.1 image).
  double temperature = 0.5;
  /// Paper routing: λ between the raw and the composed teacher.
  double lambda = 0.5;
  /// Official routing: the student-side weight (1 for one teacher, 0.5 per branch with two).
  double loss_weight = 1.0;
  /// The weight inside the official "JSD" (JSDLoss(weight = 0.5)).
  double posterior_weight = 0.5;
  loss::Numerics numerics = loss::Numerics::stable;

  CclTermWeights term_weights() const {
    return routing == Routing::official ? CclTermWeights::official(loss_weight)
                                        : CclTermWeights::paper(lambda);
  }
};

/// The unweighted value of every term of one step, and the two weighted totals.
template <class Scalar>
struct CclTerms {
  Scalar student_composed = 0, student_teacher = 0, composed_teacher = 0, posterior = 0,
         composed_ce = 0;
  Scalar student_total = 0;  ///< Σ student weight · term (what the student minimises)
  Scalar head_total = 0;     ///< Σ head weight · term (what the head's gradient comes from)
};

template <class Scalar, class Backend = cpu>
class CclObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::CclObjective: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::CclObjective: the second argument must be ccl::cpu or ccl::cuda");

  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;
  using Workspace = backend_matrix_t<Scalar, Backend>;

 public:
  using Options = CclObjectiveOptions;
  using Terms = CclTerms<Scalar>;
  using backend_type = Backend;

  CclObjective() : CclObjective(Options{}) {}
  explicit CclObjective(Options options) : options_(options) {
    checks::temperature<Scalar>("CclObjective", options.temperature);
    require(options.lambda >= 0 && options.lambda <= 1,
            "CclObjective: lambda must lie in [0, 1],"
            " got ",
            options.lambda);
    require(std::isfinite(options.loss_weight) && options.loss_weight >= 0,
            "CclObjective: loss_weight must be >= 0, got ", options.loss_weight);
    loss::ContrastiveOptions nce;
    nce.temperature = options.temperature;
    nce.numerics = options.numerics;
    nce_ = loss::MultiClassNce<Scalar, Backend>(nce);
    loss::SymmetricKlOptions jsd;
    jsd.weight = options.posterior_weight;
    jsd.numerics = options.numerics;
    posterior_ = loss::SymmetricKl<Scalar, Backend>(jsd);
  }

  const Options& options() const { return options_; }

  /// The objective's losses and workspaces run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, nce_, posterior_, ce_);
    rebind_execution(execution_, execution);
  }

  /// Computes the branch's terms for a batch (x_v, z_v from the student, x_t from the teacher),
  /// runs `composition` forward, adds the student-side gradients into grad_x_v and grad_z_v
  /// (including the path through the head's input) and accumulates the head's parameter
  /// gradients. The teacher never receives a gradient.
  template <class Composition>
  Terms accumulate(Composition& composition, View x_v, View z_v, View x_t, LabelView labels,
                   MutableView grad_x_v, MutableView grad_z_v) {
    static_assert(compose::assert_composition<Composition>());
    static_assert(std::is_same_v<typename Composition::scalar_type, Scalar>,
                  "ccl::pipeline::CclObjective: the composition's scalar type differs from the "
                  "objective's");
    checks::same_rows("CclObjective", "x_v", x_v, "z_v", z_v);
    checks::same_rows("CclObjective", "x_v", x_v, "x_t", x_t);
    checks::labels_match("CclObjective", x_v.rows(), labels);
    const CclTermWeights w = options_.term_weights();
    const Index batch = x_v.rows();

    const auto out = composition.forward(x_t, x_v);
    const auto x_tv = out.composed;
    const auto z_tv = out.logits;
    require(x_tv.cols() == x_v.cols(), "CclObjective: the composition yields ", x_tv.cols(),
            "-d embeddings but the student's are ", x_v.cols(),
            "-d; the contrastive terms "
            "compare them directly");
    require(z_tv.cols() == z_v.cols(), "CclObjective: the composition's classifier has ",
            z_tv.cols(), " classes but the student's has ", z_v.cols());

    zero(head_x_tv_, batch, x_tv.cols());
    zero(head_z_tv_, batch, z_tv.cols());
    zero(student_x_tv_, batch, x_tv.cols());
    zero(student_z_tv_, batch, z_tv.cols());
    Terms terms;

    if (w.student_composed.active()) {
      terms.student_composed =
          pair(x_v, x_tv, labels, w.symmetric, w.student_composed, grad_x_v, x_v.cols());
    }
    if (w.student_teacher.active()) {
      // The teacher is frozen: only x_v receives this term's gradient.
      terms.student_teacher =
          nce_.accumulate(x_v, x_t, labels, Scalar(w.student_teacher.student), grad_x_v, {});
      if (w.symmetric) {
        terms.student_teacher +=
            nce_.accumulate(x_t, x_v, labels, Scalar(w.student_teacher.student), {}, grad_x_v);
      }
    }
    if (w.composed_teacher.active()) {
      terms.composed_teacher = pair(x_tv, x_t, labels, w.symmetric, w.composed_teacher, {},
                                    x_v.cols(), /*composed_first=*/true);
    }
    if (w.posterior.active()) {
      zero(tmp_a_, batch, z_v.cols());
      zero(tmp_b_, batch, z_tv.cols());
      terms.posterior = posterior_.accumulate(z_v, z_tv, labels, Scalar(1), mutable_view(tmp_a_),
                                              mutable_view(tmp_b_));
      add_scaled(grad_z_v, Scalar(w.posterior.student), view(tmp_a_), execution_);
      route(tmp_b_, w.posterior, student_z_tv_, head_z_tv_);
    }
    if (w.composed_ce.active()) {
      zero(tmp_b_, batch, z_tv.cols());
      terms.composed_ce = ce_.accumulate(z_tv, labels, Scalar(1), mutable_view(tmp_b_));
      route(tmp_b_, w.composed_ce, student_z_tv_, head_z_tv_);
    }

    // Two passes through the head, because the two objectives differ: the head's gradients
    // update its parameters only; the student's reach x_v through the head's input x̂_v and
    // leave the parameters alone (their share of the student's objective is already part of the
    // head weights, see CclTermWeights::official).
    composition.backward(view(head_x_tv_), view(head_z_tv_), {}, {},
                         nn::ParameterGradients::accumulate);
    composition.backward(view(student_x_tv_), view(student_z_tv_), grad_x_v, {},
                         nn::ParameterGradients::skip);

    terms.student_total =
        Scalar(w.student_composed.student * terms.student_composed +
               w.student_teacher.student * terms.student_teacher +
               w.composed_teacher.student * terms.composed_teacher +
               w.posterior.student * terms.posterior + w.composed_ce.student * terms.composed_ce);
    terms.head_total =
        Scalar(w.student_composed.head * terms.student_composed +
               w.student_teacher.head * terms.student_teacher +
               w.composed_teacher.head * terms.composed_teacher +
               w.posterior.head * terms.posterior + w.composed_ce.head * terms.composed_ce);
    return terms;
  }

 private:
  void zero(Workspace& m, Index rows, Index cols) { set_zero(m, rows, cols, execution_); }

  void route(const Workspace& grad_tv, const TermWeights& w, Workspace& student, Workspace& head) {
    if (w.student != 0)
      add_scaled(mutable_view(student), Scalar(w.student), view(grad_tv), execution_);
    if (w.head != 0) add_scaled(mutable_view(head), Scalar(w.head), view(grad_tv), execution_);
  }

  // A contrastive term between `a` and `b` where exactly one of them is x_tv (the other is x_v or
  // the frozen x_t). The x_tv gradient is routed to both objectives by the term's weights; the
  // x_v gradient (if `a` is x_v) goes to the student with the student weight.
  Scalar pair(View a, View b, LabelView labels, bool symmetric, const TermWeights& w,
              MutableView grad_x_v, Index dim, bool composed_first = false) {
    const Index batch = a.rows();
    zero(tmp_a_, batch, dim);
    zero(tmp_b_, batch, dim);
    auto ga = mutable_view(tmp_a_);
    auto gb = mutable_view(tmp_b_);
    // Gradients wanted: x_tv's always; x_v's only when `a` is x_v and the student weighs the term.
    const bool want_a = composed_first || (w.student != 0 && grad_x_v.data() != nullptr);
    const bool want_b = !composed_first;
    Scalar value = nce_.accumulate(a, b, labels, Scalar(1), want_a ? ga : MutableView{},
                                   want_b ? gb : MutableView{});
    if (symmetric) {
      value += nce_.accumulate(b, a, labels, Scalar(1), want_b ? gb : MutableView{},
                               want_a ? ga : MutableView{});
    }
    const Workspace& grad_tv = composed_first ? tmp_a_ : tmp_b_;
    route(grad_tv, w, student_x_tv_, head_x_tv_);
    if (!composed_first && want_a)
      add_scaled(grad_x_v, Scalar(w.student), view(tmp_a_), execution_);
    return value;
  }

  Options options_;
  Execution<Backend> execution_;
  loss::MultiClassNce<Scalar, Backend> nce_;
  loss::SymmetricKl<Scalar, Backend> posterior_;
  loss::CrossEntropy<Scalar, Backend> ce_;
  // Upstream gradients of x_tv and z_tv for the head's objective and for the student's.
  Workspace head_x_tv_, head_z_tv_, student_x_tv_, student_z_tv_;
  Workspace tmp_a_, tmp_b_;
};

}  // namespace ccl::pipeline
