#pragma once
// Conditional-probability kernels over a batch, shared by PKT (method.md §8.3) and IFD (§8.7):
//
//   cosine:     u_i = x_i / (‖x_i‖ + eps),  K_ij = (u_i·u_j + 1) / 2
//   Student-t:  δ_ij = sqrt(max(sq_ij, 0) + eps),  K_ij = 1 / (1 + δ_ij)
//   both:       P_ij = K_ij / Σ_k K_ik            (diagonal included, as in passalis/pkth)
//
// forward() keeps what backward() needs, so one object serves one side (student or teacher) of
// one loss call. The eps placements are the reference code's (added to the norm, added under the
// square root), not PyTorch's F.normalize clamp, because PKT/IFD values must match those repos.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pairwise.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace ccl::loss::baselines::detail {

enum class Kernel { cosine, student_t };

template <class Scalar>
class ConditionalProbabilities {
 public:
  /// Computes P for the rows of x with the given kernel and eps.
  void forward(const EmbeddingView<const Scalar>& x, Kernel kernel, Scalar eps) {
    kernel_ = kernel;
    eps_ = eps;
    const Index b = x.rows();
    if (kernel == Kernel::cosine) {
      const auto m = x.matrix();
      norms_ = m.rowwise().norm();
      unit_ = (norms_.array() + eps).inverse().matrix().asDiagonal() * m;
      k_.resize(b, b);
      gemm(k_, gemm_arg(unit_), gemm_arg_transposed(unit_), Gemm::overwrite);
      k_.array() = (k_.array() + Scalar(1)) * Scalar(0.5);
    } else {
      squared_distances(x, sq_);
      delta_ = (sq_.array().max(Scalar(0)) + eps).sqrt().matrix();
      k_ = (Scalar(1) + delta_.array()).inverse().matrix();
    }
    row_sum_ = k_.rowwise().sum();
    p_ = row_sum_.array().inverse().matrix().asDiagonal() * k_;
  }

  const RowMatrix<Scalar>& p() const { return p_; }

  /// grad_x += weight · dL/dx, given grad_p = dL/dP (B x B) for the x of the last forward.
  void backward(const EmbeddingView<const Scalar>& x, const RowMatrix<Scalar>& grad_p,
                Scalar weight, const EmbeddingView<Scalar>& grad_x) {
    // Row normalisation P = K / r: dL/dK_ij = (G_ij - Σ_k G_ik P_ik) / r_i.
    const Vector<Scalar> inner = grad_p.cwiseProduct(p_).rowwise().sum();
    grad_k_ = grad_p;
    grad_k_.colwise() -= inner;
    grad_k_ = row_sum_.array().inverse().matrix().asDiagonal() * grad_k_;
    if (kernel_ == Kernel::cosine) {
      // K = (U Uᵀ + 1)/2, so dL/dU = ½ (G_K + G_Kᵀ) U.
      const RowMatrix<Scalar> sym = (grad_k_ + grad_k_.transpose()) * Scalar(0.5);
      RowMatrix<Scalar> grad_u(sym.rows(), unit_.cols());
      gemm(grad_u, gemm_arg(sym), gemm_arg(unit_), Gemm::overwrite);
      // u = x / (n + eps): du/dx = I/(n + eps) - x xᵀ / (n (n + eps)²); at n = 0 only I/eps.
      const auto m = x.matrix();
      auto out = grad_x.matrix();
      for (Index i = 0; i < x.rows(); ++i) {
        const Scalar n = norms_[i];
        const Scalar d = n + eps_;
        Eigen::Matrix<Scalar, 1, Eigen::Dynamic> g = grad_u.row(i) / d;
        if (n > 0) g -= m.row(i) * (m.row(i).dot(grad_u.row(i)) / (n * d * d));
        out.row(i) += weight * g;
      }
    } else {
      // K = 1/(1 + δ): dK/dδ = -K²; δ = sqrt(max(sq, 0) + eps): dδ/dsq = 1/(2δ) where sq >= 0.
      grad_sq_ = (-grad_k_.array() * k_.array().square() / (Scalar(2) * delta_.array()) *
                  (sq_.array() >= Scalar(0)).template cast<Scalar>())
                     .matrix();
      squared_distances_backward(x, grad_sq_, weight, grad_x);
    }
  }

 private:
  Kernel kernel_ = Kernel::cosine;
  Scalar eps_ = 0;
  Vector<Scalar> norms_, row_sum_;
  RowMatrix<Scalar> unit_, sq_, delta_, k_, p_, grad_k_, grad_sq_;
};

}  // namespace ccl::loss::baselines::detail
