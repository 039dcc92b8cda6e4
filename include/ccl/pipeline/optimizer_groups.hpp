#pragma once
// The two parameter groups of the official recipe (method.md §5): the student's, whose learning
// rate a schedule decays, and everything else that trains — composition heads and the auxiliary
// modules of baseline objectives — which keeps its own. Each module joins under the name the
// pipeline gives it ("student", "head.audio", "objective.image", ...), the keys a checkpoint of
// the optimiser's state is saved under.

#include <ccl/core/types.hpp>

#include <string>

namespace ccl::pipeline {

struct OptimizerGroups {
  Index student = -1;
  Index heads = -1;
};

/// Adds two groups to `optimizer` and fills them from `pipeline`; returns their indices.
template <class Optimizer, class Pipeline>
OptimizerGroups add_optimizer_groups(Optimizer& optimizer, Pipeline& pipeline,
                                     const typename Optimizer::Options& student_options,
                                     const typename Optimizer::Options& head_options) {
  auto student = optimizer.add_group(student_options);
  auto heads = optimizer.add_group(head_options);
  pipeline.for_each_trainable_module([&](const std::string& name, auto& module) {
    (name == "student" ? student : heads).add(name, module);
  });
  return {student.index(), heads.index()};
}

}  // namespace ccl::pipeline
