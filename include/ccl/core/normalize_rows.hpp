#pragma once
// Row L2 normalisation x̂ = x / max(‖x‖, eps) and its backward pass, with PyTorch's
// F.normalize semantics (eps = 1e-12), which the official CCL code uses before every similarity.
// An all-zero row becomes the zero vector and receives the gradient grad_unit / eps (as in
// PyTorch); ContrastiveOptions::zero_rows = ZeroRows::raise makes it an error instead.
//
// Public: ccl::l2_normalize_rows(x) (a new matrix) and ccl::l2_normalize_rows_in_place(m), for
// retrieval, probes and user code. The losses, compositions and memory banks use the detail
// functions below, which also keep the norms for the backward pass.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace ccl {
namespace detail {

inline constexpr double normalize_eps = 1e-12;

/// Rows per thread below which the O(B·D) passes stay serial (a fork costs a few µs).
inline constexpr Index rows_per_thread = 64;

/// Writes x / max(‖x‖, eps) into `unit` and max(‖x‖, eps) into `norm`, for one row.
///
/// The norm is sqrt(Σ x²) when the squares do not overflow — the fast path, every ordinary row.
/// A finite row whose squares overflow `Scalar` (float elements beyond ~1e19) is scaled by its
/// largest magnitude first, so its unit vector is exact instead of the zero vector a plain
/// sqrt(inf) would give; its norm may then be +inf (beyond FLT_MAX), which makes its gradient
/// 0 — the true gradient, O(1/‖x‖), is below the normal range of float there. Rows holding NaN
/// or Inf keep their non-finite norm, which the losses' finite check reports.
template <class RowIn, class RowOut, class Scalar>
void normalize_row(const RowIn& x, RowOut&& unit, Scalar& norm) {
  using std::sqrt;
  const Scalar squares = x.squaredNorm();
  if (std::isfinite(squares)) {
    norm = std::max<Scalar>(sqrt(squares), Scalar(normalize_eps));
    unit = x / norm;
    return;
  }
  const Scalar largest = x.cwiseAbs().maxCoeff();
  if (!std::isfinite(largest)) {  // NaN or Inf inside: left to the finite check
    norm = sqrt(squares);
    unit = x / norm;
    return;
  }
  unit = x / largest;
  const Scalar scaled = unit.norm();  // in [1, sqrt(D)]: cannot overflow
  unit /= scaled;
  norm = largest * scaled;
}

/// Writes the normalised rows of x into `unit` and the clamped norms max(‖x‖, eps) into `norms`.
template <class Scalar>
void normalize_rows(const EmbeddingView<const Scalar>& x, RowMatrix<Scalar>& unit,
                    Vector<Scalar>& norms) {
  const auto m = x.matrix();
  unit.resize(x.rows(), x.cols());
  norms.resize(x.rows());
  parallel_for(
      0, x.rows(), [&](Index i, int) { normalize_row(m.row(i), unit.row(i), norms[i]); },
      rows_per_thread);
}

/// For ZeroRows::raise: throws ccl::error naming the first row whose norm was clamped to eps
/// (an all-zero row, or one whose norm is below 1e-12).
template <class Scalar>
void require_nonzero_rows(const char* op, const char* name, const Vector<Scalar>& norms) {
  for (Index i = 0; i < norms.size(); ++i)
    require(!(norms[i] <= Scalar(normalize_eps)), op, ": ", name, " row ", i,
            " has norm <= 1e-12 (an all-zero embedding) and options.zero_rows is "
            "ZeroRows::raise; with ZeroRows::clamp it is normalised as F.normalize does "
            "(unit row 0, gradient grad / 1e-12)");
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

}  // namespace detail

/// x / max(‖x‖, 1e-12) for every row of x (PyTorch's F.normalize(x, dim=1)): an all-zero row stays
/// zero. Rows whose squares overflow are scaled first, so any finite row gives an exact unit row;
/// NaN or Inf in x is a ccl::error naming the first one.
template <class T>
RowMatrix<T> l2_normalize_rows(EmbeddingView<const T> x) {
  checks::finite("l2_normalize_rows", "x", x);
  RowMatrix<T> unit;
  Vector<T> norms;
  detail::normalize_rows(x, unit, norms);
  return unit;
}

/// The same for an Eigen matrix or expression (RowMatrix, Eigen::MatrixXd, a block, ...).
template <class M, class = std::enable_if_t<ccl::detail::is_eigen_dense_v<M>>>
RowMatrix<typename M::Scalar> l2_normalize_rows(const M& x) {
  const RowMatrix<typename M::Scalar> rows = x;  // row-major storage for the view
  return l2_normalize_rows(view(rows));
}

/// Normalises the rows of `x` where they are.
template <class T>
void l2_normalize_rows_in_place(RowMatrix<T>& x) {
  x = l2_normalize_rows(view(x));
}

}  // namespace ccl
