#pragma once
// Central finite differences in double for gradient checks: d/dx_k ≈ (L(x + h e_k) − L(x − h e_k)) / 2h.
// With h = 1e-6 the truncation error is O(h²) ≈ 1e-12 and the rounding error O(ε/h) ≈ 1e-10, so
// analytic and numeric gradients of smooth losses agree to ~1e-8 relative.

#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace ccl::testing {

/// The numeric gradient of `loss()` with respect to every element of `x` (perturbed in place).
template <class Matrix, class Loss>
Matrix numeric_gradient(Matrix& x, Loss&& loss, double step = 1e-6) {
  Matrix gradient(x.rows(), x.cols());
  for (Index i = 0; i < x.rows(); ++i) {
    for (Index j = 0; j < x.cols(); ++j) {
      const double saved = x(i, j);
      x(i, j) = saved + step;
      const double plus = loss();
      x(i, j) = saved - step;
      const double minus = loss();
      x(i, j) = saved;
      gradient(i, j) = (plus - minus) / (2 * step);
    }
  }
  return gradient;
}

/// max |a − b| / max(1, max |b|): relative to the gradient's scale, absolute near zero.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  const double scale = std::max(1.0, double(b.cwiseAbs().maxCoeff()));
  return double((a - b).cwiseAbs().maxCoeff()) / scale;
}

}  // namespace ccl::testing
