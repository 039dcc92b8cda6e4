#pragma once
// The argument checks every (student, teacher) baseline loss starts with, and the per-loss
// workspace of a backend. Relational losses (PKT, RKD, IFD) compare each side's own similarity
// structure, so the two sides may have different widths; feature-matching losses (FitNet, COR)
// need identical shapes.
//
// The baselines are written once for both backends: the shape checks below are the same code on
// both; what differs per backend (device memory and 32-bit extents, where the NaN scan runs, the
// stream and cuBLAS handle a call uses) sits behind Workspace<Backend> and the overloads of
// check_pair_memory_and_values, whose CUDA versions are in
// <ccl/cuda/loss/baselines/detail/device_support.hpp>.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/execution.hpp>

#include <type_traits>

namespace ccl::loss::baselines::detail {

enum class Widths { may_differ, must_match };

/// What one baseline loss object keeps between calls on a backend: nothing on the CPU.
template <class Backend>
struct Workspace {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::loss::baselines: the CUDA baselines need "
                "<ccl/cuda/loss/baselines/detail/device_support.hpp>; include the loss's CUDA "
                "header (e.g. <ccl/cuda/loss/baselines/pkt.hpp>) or <ccl/cuda.hpp>");
};

/// The host half of the checks: the values (the device one also checks memory and extents).
template <class Scalar>
void check_pair_memory_and_values(const char* op, const EmbeddingView<const Scalar, cpu>& student,
                                  const EmbeddingView<const Scalar, cpu>& teacher,
                                  const EmbeddingView<Scalar, cpu>& /*grad_student*/,
                                  const EmbeddingView<Scalar, cpu>& /*grad_teacher*/,
                                  bool check_finite, Workspace<cpu>& /*workspace*/) {
  if (check_finite) {
    checks::finite(op, "student", student);
    checks::finite(op, "teacher", teacher);
  }
}

/// Shapes (the same messages on every backend), then the backend's memory and value checks.
template <class Scalar, class Backend>
void check_pair(const char* op, const EmbeddingView<const Scalar, Backend>& student,
                const EmbeddingView<const Scalar, Backend>& teacher,
                const EmbeddingView<Scalar, Backend>& grad_student,
                const EmbeddingView<Scalar, Backend>& grad_teacher, Widths widths,
                bool check_finite, Workspace<Backend>& workspace) {
  checks::non_empty(op, "student", student);
  checks::non_empty(op, "teacher", teacher);
  if (widths == Widths::must_match) {
    checks::same_shape(op, "student", student, "teacher", teacher);
  } else {
    checks::same_rows(op, "student", student, "teacher", teacher);
  }
  checks::gradient_shape(op, "student", student, "grad_student", grad_student);
  checks::gradient_shape(op, "teacher", teacher, "grad_teacher", grad_teacher);
  // Unqualified: the CUDA overload is found by argument-dependent lookup on Workspace<cuda>.
  check_pair_memory_and_values(op, student, teacher, grad_student, grad_teacher, check_finite,
                               workspace);
}

/// The host form without a workspace.
template <class Scalar>
void check_pair(const char* op, const EmbeddingView<const Scalar>& student,
                const EmbeddingView<const Scalar>& teacher,
                const EmbeddingView<Scalar>& grad_student,
                const EmbeddingView<Scalar>& grad_teacher, Widths widths, bool check_finite) {
  Workspace<cpu> none;
  check_pair(op, student, teacher, grad_student, grad_teacher, widths, check_finite, none);
}

/// What every (student, teacher) baseline loss shares, written once for both backends: its
/// options, the backend's workspace, and the start of a call (the argument checks). A loss derives
/// from it (after PairLossInterface) and inherits its constructors.
template <class Options, class Backend>
class PairBaseline {
 public:
  PairBaseline() = default;
  explicit PairBaseline(Options options) : options_(options) {}
  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// The loss's kernels, scans and GEMMs run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(workspace_, execution);
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

 protected:
  template <class Scalar>
  void begin_call(const char* op, const EmbeddingView<const Scalar, Backend>& student,
                  const EmbeddingView<const Scalar, Backend>& teacher,
                  const EmbeddingView<Scalar, Backend>& grad_student,
                  const EmbeddingView<Scalar, Backend>& grad_teacher, Widths widths) {
    check_pair(op, student, teacher, grad_student, grad_teacher, widths, options_.check_finite,
               workspace_);
  }

  Options options_;
  Workspace<Backend> workspace_;
  Execution<Backend> execution_;
};

}  // namespace ccl::loss::baselines::detail
