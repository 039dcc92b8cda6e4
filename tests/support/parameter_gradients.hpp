#pragma once
// Finite-difference checks over every parameter of a module or pipeline (double precision).

#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>

#include "finite_difference.hpp"

#include <algorithm>
#include <vector>

namespace ccl::testing {

inline RowMatrix<double> random_matrix(Index rows, Index cols, Rng& rng, double scale = 1.0) {
  RowMatrix<double> m(rows, cols);
  rng.fill_normal(m, 0.0, scale);
  return m;
}

/// Pointers to the parameters that `for_each(visit)` visits, e.g.
/// collect([&](auto v) { pipeline.for_each_student_parameter(v); }).
template <class ForEach>
std::vector<Parameter<double>*> collect(ForEach&& for_each) {
  std::vector<Parameter<double>*> out;
  for_each([&](Parameter<double>& p) { out.push_back(&p); });
  return out;
}

/// The worst relative error between each parameter's analytic gradient and central differences
/// of `objective()` with respect to every element of that parameter.
template <class Objective>
double max_gradient_error(const std::vector<Parameter<double>*>& params, Objective&& objective) {
  double worst = 0;
  for (auto* p : params) {
    const RowMatrix<double> numeric = numeric_gradient(p->value, objective);
    worst = std::max(worst, relative_error(p->grad, numeric));
  }
  return worst;
}

}  // namespace ccl::testing
