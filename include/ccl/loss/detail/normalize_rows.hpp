#pragma once
// Row L2 normalisation x̂ = x / max(‖x‖, eps) and its backward pass, with PyTorch's
// F.normalize semantics (eps = 1e-12), which the official CCL code uses before every similarity.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>

namespace ccl::loss::detail {

inline constexpr double normalize_eps = 1e-12;

/// Rows per thread below which the O(B·D) passes stay serial (a fork costs a few µs).
inline constexpr Index rows_per_thread = 64;

/// Writes the normalised rows of x into `unit` and the clamped norms max(‖x_i‖, eps) into `norms`.
template <class Scalar>
void normalize_rows(const EmbeddingView<const Scalar>& x, RowMatrix<Scalar>& unit,
                    Vector<Scalar>& norms) {
  const auto m = x.matrix();
  unit.resize(x.rows(), x.cols());
  norms.resize(x.rows());
  parallel_for(
      0, x.rows(),
      [&](Index i, int) {
        const Scalar norm = std::max<Scalar>(m.row(i).norm(), Scalar(normalize_eps));
        norms[i] = norm;
        unit.row(i) = m.row(i) / norm;
      },
      rows_per_thread);
}

/// grad_x += weight * d(x̂)/dx^T · grad_unit, row by row:
/// (grad_unit - x̂ (x̂ · grad_unit)) / ‖x‖ where ‖x‖ > eps, grad_unit / eps where it was clamped.
template <class Scalar>
void normalize_rows_backward(const RowMatrix<Scalar>& unit, const Vector<Scalar>& norms,
                             const RowMatrix<Scalar>& grad_unit, Scalar weight,
                             const EmbeddingView<Scalar>& grad_x) {
  auto out = grad_x.matrix();
  parallel_for(
      0, unit.rows(),
      [&](Index i, int) {
        const Scalar scale = weight / norms[i];
        if (norms[i] > Scalar(normalize_eps)) {
          const Scalar radial = unit.row(i).dot(grad_unit.row(i));
          out.row(i) += scale * (grad_unit.row(i) - radial * unit.row(i));
        } else {
          out.row(i) += scale * grad_unit.row(i);
        }
      },
      rows_per_thread);
}

}  // namespace ccl::loss::detail
