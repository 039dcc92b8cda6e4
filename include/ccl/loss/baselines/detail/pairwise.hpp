#pragma once
// Pairwise squared Euclidean distances of the rows of a [B, D] batch and their backward pass,
// shared by the relational baselines (RKD's distance term, IFD's Student-t kernel). Both go
// through one Gram GEMM, sq_ij = ‖x_i‖² + ‖x_j‖² - 2 x_i·x_j, exactly as the reference
// implementations compute them; B x B is small next to B x D for the batch sizes these losses see.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

namespace ccl::loss::baselines::detail {

/// sq_ij = ‖x_i‖² + ‖x_j‖² - 2 x_i·x_j (may be slightly negative off exact arithmetic; callers
/// clamp as their reference does).
template <class Scalar>
void squared_distances(const EmbeddingView<const Scalar>& x, RowMatrix<Scalar>& sq) {
  const auto m = x.matrix();
  const Vector<Scalar> norms = m.rowwise().squaredNorm();
  sq.resize(x.rows(), x.rows());
  gemm(sq, gemm_arg(m), gemm_arg_transposed(m), Gemm::overwrite, Scalar(-2));
  sq.colwise() += norms;
  sq.rowwise() += norms.transpose();
}

/// grad_x += weight · dL/dx given H = dL/dsq (B x B):
/// dL/dx = 2 diag(rowsum(H) + colsum(H)) x - 2 (H + Hᵀ) x.
template <class Scalar>
void squared_distances_backward(const EmbeddingView<const Scalar>& x, const RowMatrix<Scalar>& h,
                                Scalar weight, const EmbeddingView<Scalar>& grad_x) {
  const auto m = x.matrix();
  const Vector<Scalar> diag = h.rowwise().sum() + h.colwise().sum().transpose();
  RowMatrix<Scalar> sym = h + h.transpose();
  auto out = grad_x.matrix();
  out += (Scalar(2) * weight) * (diag.asDiagonal() * m);
  gemm(out, gemm_arg(sym), gemm_arg(m), Gemm::accumulate, Scalar(-2) * weight);
}

}  // namespace ccl::loss::baselines::detail
