#pragma once
// The frozen-teacher check shared by the pipeline tests: a few plain SGD steps over everything an
// optimiser would be given, then the teacher's parameters must be bit-identical and gradient-free.

#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>

#include <catch2/catch.hpp>

namespace ccl::testing {

template <class Pipeline, class... StepArgs>
void expect_teacher_frozen(Pipeline& pipeline, const RowMatrix<double>& weight_before,
                           const StepArgs&... step_args) {
  for (int i = 0; i < 5; ++i) {
    pipeline.zero_grad();
    pipeline.step(step_args...);
    auto sgd = [](Parameter<double>& p) { p.value -= 0.1 * p.grad; };
    pipeline.for_each_student_parameter(sgd);
    pipeline.for_each_head_parameter(sgd);
  }
  int frozen = 0;
  pipeline.for_each_frozen_parameter([&](Parameter<double>& p) {
    ++frozen;
    CHECK(p.grad.cwiseAbs().maxCoeff() == 0.0);
    if (p.name == "weight") CHECK((p.value.array() == weight_before.array()).all());
  });
  CHECK(frozen == 2);
}

}  // namespace ccl::testing
