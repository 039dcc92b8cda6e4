#pragma once
// Branch<Modality, Teacher, Composition, Objective>: one teacher of the pipeline — where x_t comes
// from, how it is composed with the student's embedding, and which loss terms (with which
// gradient routing) it contributes. `make_pipeline` takes any number of branches; Table 1's rows
// differ only in the Objective (and the Composition) of their branches.

#include <ccl/modality/modality.hpp>

#include <string>
#include <utility>

namespace ccl::pipeline {

struct BranchOptions {
  /// Remove rows whose teacher embedding is all zero from every term of the branch (missing
  /// audio, method.md §2.5). They still count for the student's CE and for other branches.
  bool mask_missing = true;
  /// The name used in logs; defaults to the modality's name.
  std::string name;
};

template <class Modality, class Teacher, class Composition, class Objective>
struct Branch {
  static_assert(is_modality_v<Modality>,
                "ccl::pipeline::Branch: the first argument must be ccl::Audio, ccl::Image or "
                "ccl::Video");
  using modality = Modality;

  Teacher teacher;
  Composition composition;
  Objective objective;
  BranchOptions options;

  const std::string& name() const { return options.name; }
};

/// `branch<Audio>(teacher::Precomputed<float>(512), compose::Residual<float>(...), CclObjective<float>(...))`
template <class Modality, class Teacher, class Composition, class Objective>
Branch<Modality, Teacher, Composition, Objective> branch(Teacher teacher, Composition composition,
                                                         Objective objective,
                                                         BranchOptions options = {}) {
  if (options.name.empty()) options.name = Modality::name;
  return {std::move(teacher), std::move(composition), std::move(objective), std::move(options)};
}

}  // namespace ccl::pipeline
