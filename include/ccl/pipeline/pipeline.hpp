#pragma once
// Pipeline<Student, Branches...>: the compile-time assembly of a CCL training step (design.md).
//
//   auto pipeline = make_pipeline(student, branch<Audio>(...), branch<Image>(...));
//   auto step = pipeline.step(clips, labels, audio_embeddings, image_frames);
//
// One step runs the student forward, adds its cross-entropy, folds over the branches with
// boost::hana::for_each — each branch embeds its teacher input, drops rows with a missing teacher,
// and lets its objective add the student-side gradients and the composition head's gradients —
// and finally back-propagates into the student. Gradients never reach a teacher. Parameters are
// enumerated in two groups, the student's and the heads', because the official recipe gives them
// different learning-rate schedules (method.md §5).
//
// The backend is the student's (Student<Encoder, Scalar, Backend>): with ccl::cuda every
// embedding, logit and gradient workspace lives in device memory (backend_matrix_t), the
// branches' teachers and objectives must deliver and take device views, and the only host
// traffic of a step is the labels and the missing-teacher row list (O(B)).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/pipeline/branch.hpp>
#include <ccl/pipeline/student.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/tuple.hpp>

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::pipeline {

template <class Scalar>
struct BranchReport {
  std::string name;
  Index rows = 0;            ///< rows with a teacher embedding (all, unless masked)
  Scalar student_total = 0;  ///< the branch's share of the student's objective
  Scalar head_total = 0;     ///< the branch's composition-head objective
};

template <class Scalar, class Backend = cpu>
struct StepResult {
  Scalar student_ce = 0;         ///< CE(z_v, y)
  Scalar student_objective = 0;  ///< CE + Σ branches' student totals: what the student minimises
  std::vector<BranchReport<Scalar>> branches;
  EmbeddingView<const Scalar, Backend> logits;  ///< z_v of this step (valid until the next forward)
};

namespace detail {
// A composition matches the student when it declares the student's backend (NoComposition, which
// is never called, declares none) and, where it declares one, the student's scalar.
template <class C, class Backend>
inline constexpr bool composition_backend_matches_v =
    !declares_backend_v<C> || std::is_same_v<backend_of_t<C>, Backend>;

template <class C, class Scalar, class = void>
struct composition_scalar_matches : std::true_type {};
template <class C, class Scalar>
struct composition_scalar_matches<C, Scalar, std::void_t<typename C::scalar_type>>
    : std::is_same<typename C::scalar_type, Scalar> {};
template <class C, class Scalar>
inline constexpr bool composition_scalar_matches_v = composition_scalar_matches<C, Scalar>::value;
}  // namespace detail

template <class Student, class... Branches>
class Pipeline {
  static_assert((std::is_same_v<backend_of_t<decltype(std::declval<Branches&>().teacher)>,
                                typename Student::backend_type> &&
                 ...),
                "ccl::pipeline::Pipeline: every branch's teacher must use the student's backend "
                "(ccl::cpu or ccl::cuda): give it the same Backend argument");
  static_assert(
      (detail::composition_backend_matches_v<decltype(std::declval<Branches&>().composition),
                                             typename Student::backend_type> &&
       ...),
      "ccl::pipeline::Pipeline: every branch's composition must use the student's "
      "backend: e.g. compose::Residual<float, ccl::cuda> with a ccl::cuda student");
  static_assert(
      (detail::composition_scalar_matches_v<decltype(std::declval<Branches&>().composition),
                                            typename Student::scalar_type> &&
       ...),
      "ccl::pipeline::Pipeline: every branch's composition must use the student's scalar "
      "type (float or double)");
  static_assert((std::is_same_v<backend_of_t<decltype(std::declval<Branches&>().objective)>,
                                typename Student::backend_type> &&
                 ...),
                "ccl::pipeline::Pipeline: every branch's objective must use the student's backend "
                "(ccl::cpu or ccl::cuda): give it the same Backend argument");

 public:
  using Scalar = typename Student::scalar_type;
  using Backend = typename Student::backend_type;
  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;
  static constexpr std::size_t branch_count = sizeof...(Branches);

  Pipeline(Student student, Branches... branches)
      : student_(std::move(student)), branches_(std::move(branches)...) {}

  /// One training step: forward, every loss term, and backward. Gradients are ADDED into the
  /// student's and the heads' parameters (call zero_grad() before, step the optimiser after).
  /// `teacher_inputs` are one per branch, in branch order.
  template <class Input, class... TeacherInputs>
  StepResult<Scalar, Backend> step(const Input& input, LabelView labels,
                                   const TeacherInputs&... teacher_inputs) {
    static_assert(sizeof...(TeacherInputs) == branch_count,
                  "ccl::pipeline::Pipeline::step: pass exactly one teacher input per branch, in "
                  "the order the branches were given to make_pipeline");
    student_.set_training(true);
    const StudentOutput<Scalar, Backend> out = student_.forward(input);
    checks::labels_match("Pipeline::step", out.embedding.rows(), labels);
    set_zero(grad_x_v_, out.embedding.rows(), out.embedding.cols(), execution_);
    set_zero(grad_z_v_, out.logits.rows(), out.logits.cols(), execution_);

    StepResult<Scalar, Backend> result;
    result.student_ce = ce_.accumulate(out.logits, labels, Scalar(1), mutable_view(grad_z_v_));
    result.student_objective = result.student_ce;

    auto inputs = std::forward_as_tuple(teacher_inputs...);
    boost::hana::for_each(
        boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<branch_count>),
        [&](auto index) {
          auto& branch = branches_[index];
          const auto& teacher_input = std::get<decltype(index)::value>(inputs);
          BranchReport<Scalar> report = run_branch(branch, out, labels, teacher_input);
          result.student_objective += report.student_total;
          result.branches.push_back(std::move(report));
        });

    student_.backward(view(grad_x_v_), view(grad_z_v_));
    batch_indices_.clear();  // indices describe one step only
    result.logits = out.logits;
    return result;
  }

  /// The dataset indices of the next step's rows, for objectives that keep per-sample state
  /// (CRD's and CMC's memory banks). Objectives with `set_indices(const std::vector<Index>&)`
  /// receive them, restricted to the rows the branch keeps.
  void set_batch_indices(std::vector<Index> indices) { batch_indices_ = std::move(indices); }

  /// Student logits in inference mode (no gradient, no branch).
  template <class Input>
  View predict(const Input& input) {
    student_.set_training(false);
    return student_.forward(input).logits;
  }

  /// Student embeddings x_v in inference mode (retrieval, method.md §6.2).
  template <class Input>
  View embed(const Input& input) {
    student_.set_training(false);
    return student_.forward(input).embedding;
  }

  template <class Visitor>
  void for_each_student_parameter(Visitor&& visit) {
    student_.for_each_parameter(visit);
  }

  /// Every trainable parameter outside the student: the composition heads (and any auxiliary
  /// module of an objective, e.g. a baseline's regressor).
  template <class Visitor>
  void for_each_head_parameter(Visitor&& visit) {
    boost::hana::for_each(branches_, [&](auto& branch) {
      branch.composition.for_each_parameter(visit);
      if constexpr (has_objective_parameters<decltype(branch.objective)>::value) {
        branch.objective.for_each_parameter(visit);
      }
    });
  }

  /// The teachers' parameters, which no step ever changes.
  template <class Visitor>
  void for_each_frozen_parameter(Visitor&& visit) {
    boost::hana::for_each(branches_,
                          [&](auto& branch) { branch.teacher.for_each_frozen_parameter(visit); });
  }

  /// visit(name, module) for every module with trainable parameters: "student", then per branch
  /// "head.<branch name>" (its composition) and "objective.<branch name>" (an objective with
  /// parameters of its own, e.g. a baseline's regressor). Optimisers and checkpoints bind these.
  template <class Visitor>
  void for_each_trainable_module(Visitor&& visit) {
    visit(std::string("student"), student_);
    boost::hana::for_each(branches_, [&](auto& branch) {
      visit("head." + branch.name(), branch.composition);
      if constexpr (has_objective_parameters<decltype(branch.objective)>::value) {
        visit("objective." + branch.name(), branch.objective);
      }
    });
  }

  void zero_grad() {
    for_each_student_parameter([this](auto& p) { p.zero_grad(execution_); });
    for_each_head_parameter([this](auto& p) { p.zero_grad(execution_); });
  }

  /// Runs every part — student, teachers, compositions, objectives — and the pipeline's own ops
  /// with `execution` (core/execution.hpp): on ccl::cuda, `set_execution({stream.get()})` moves
  /// the whole step onto `stream`. The new stream waits for the work already queued on the old.
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(student_, execution);
    boost::hana::for_each(branches_, [&](auto& branch) {
      set_executions(execution, branch.teacher, branch.composition, branch.objective);
    });
    ccl::set_execution(ce_, execution);
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

  Student& student() { return student_; }
  template <std::size_t I>
  auto& branch() {
    return branches_[boost::hana::size_c<I>];
  }

 private:
  template <class O>
  using has_objective_parameters = std::bool_constant<has_parameters_v<O, Scalar, Backend>>;

  // Objectives that communicate (dist::GlobalObjective) declare `static constexpr bool
  // collective = true`: every rank must call them at every step.
  template <class O, class = void>
  struct is_collective : std::false_type {};
  template <class O>
  struct is_collective<O, std::enable_if_t<O::collective>> : std::true_type {};

  template <class O, class = void>
  struct wants_indices : std::false_type {};
  template <class O>
  struct wants_indices<O, std::void_t<decltype(std::declval<O&>().set_indices(
                              std::declval<const std::vector<Index>&>()))>> : std::true_type {};

  template <class Objective>
  void pass_indices(Objective& objective, Index batch, const std::vector<Index>* rows) {
    if constexpr (wants_indices<Objective>::value) {
      require(Index(batch_indices_.size()) == batch,
              "Pipeline::step: this branch's objective "
              "needs the rows' dataset indices: call set_batch_indices() with ",
              batch, " indices before step() (got ", batch_indices_.size(), ")");
      if (rows == nullptr) {
        objective.set_indices(batch_indices_);
      } else {
        std::vector<Index> kept;
        kept.reserve(rows->size());
        for (Index r : *rows) kept.push_back(batch_indices_[std::size_t(r)]);
        objective.set_indices(kept);
      }
    }
  }

  template <class Branch, class TeacherInput>
  BranchReport<Scalar> run_branch(Branch& branch, const StudentOutput<Scalar, Backend>& out,
                                  LabelView labels, const TeacherInput& teacher_input) {
    BranchReport<Scalar> report;
    report.name = branch.name();
    const View x_t = branch.teacher.embed(teacher_input);
    checks::same_rows("Pipeline::step", "student embeddings", out.embedding,
                      (branch.name() + " teacher embeddings").c_str(), x_t);
    const Index batch = x_t.rows();
    std::vector<Index> rows;
    if (branch.options.mask_missing) rows = available_rows(x_t, execution_);
    const bool masked = branch.options.mask_missing && Index(rows.size()) < batch;
    if (!masked) {
      report.rows = batch;
      pass_indices(branch.objective, batch, nullptr);
      auto terms =
          branch.objective.accumulate(branch.composition, out.embedding, out.logits, x_t, labels,
                                      mutable_view(grad_x_v_), mutable_view(grad_z_v_));
      report.student_total = terms.student_total;
      report.head_total = terms.head_total;
      return report;
    }
    report.rows = Index(rows.size());
    // No teacher in this batch: the branch has no term. A collective objective is still called
    // with zero rows, because the other ranks' calls wait for this one's.
    if (rows.empty() && !is_collective<std::decay_t<decltype(branch.objective)>>::value)
      return report;
    // A compact batch of the rows that have a teacher (ccl/core/row_mask.hpp explains why the
    // rows are removed rather than zero-weighted).
    const Index kept = Index(rows.size());
    set_zero(x_v_rows_, kept, out.embedding.cols(), execution_);
    set_zero(z_v_rows_, kept, out.logits.cols(), execution_);
    set_zero(x_t_rows_, kept, x_t.cols(), execution_);
    gather_rows(out.embedding, rows, mutable_view(x_v_rows_), execution_);
    gather_rows(out.logits, rows, mutable_view(z_v_rows_), execution_);
    gather_rows(x_t, rows, mutable_view(x_t_rows_), execution_);
    labels_rows_ = gather_labels(labels, rows);
    pass_indices(branch.objective, batch, &rows);
    set_zero(grad_x_v_rows_, kept, out.embedding.cols(), execution_);
    set_zero(grad_z_v_rows_, kept, out.logits.cols(), execution_);
    auto terms = branch.objective.accumulate(
        branch.composition, view(x_v_rows_), view(z_v_rows_), view(x_t_rows_), labels_rows_,
        mutable_view(grad_x_v_rows_), mutable_view(grad_z_v_rows_));
    scatter_add_rows(view(grad_x_v_rows_), rows, mutable_view(grad_x_v_), execution_);
    scatter_add_rows(view(grad_z_v_rows_), rows, mutable_view(grad_z_v_), execution_);
    report.student_total = terms.student_total;
    report.head_total = terms.head_total;
    return report;
  }

  Student student_;
  boost::hana::tuple<Branches...> branches_;
  loss::CrossEntropy<Scalar, Backend> ce_;
  Execution<Backend> execution_;
  backend_matrix_t<Scalar, Backend> grad_x_v_, grad_z_v_;
  backend_matrix_t<Scalar, Backend> x_v_rows_, z_v_rows_, x_t_rows_, grad_x_v_rows_, grad_z_v_rows_;
  std::vector<std::int64_t> labels_rows_;
  std::vector<Index> batch_indices_;
};

template <class Student, class... Branches>
Pipeline<Student, Branches...> make_pipeline(Student student, Branches... branches) {
  return Pipeline<Student, Branches...>(std::move(student), std::move(branches)...);
}

}  // namespace ccl::pipeline
