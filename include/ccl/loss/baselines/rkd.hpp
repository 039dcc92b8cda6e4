#pragma once
// RKD, Relational Knowledge Distillation (Park, Kim, Lu, Cho, CVPR 2019; method.md §8.5), in
// RepDistiller's `RKDLoss` form: L = w_d · L_D + w_a · L_A, w_d = 25, w_a = 50, β = 1.
//
//   distance: d_ij = sqrt(max(‖e_i‖² + ‖e_j‖² - 2 e_i·e_j, 1e-12)), d_ii = 0, divided by the mean
//             of the positive (off-diagonal) entries; L_D = mean over B² of SmoothL1(d^s - d^t).
//   angle:    u_ab = (e_b - e_a) / max(‖e_b - e_a‖, 1e-12) (PyTorch normalize; the zero vector
//             for b = a), cos_abc = u_ab·u_ac; L_A = mean over B³ of SmoothL1(cos^s - cos^t).
//
// SmoothL1 is Huber with threshold 1. The angle term costs O(B³·D) time and O(B·D + B²) memory
// (one anchor at a time): fine for the batch sizes of the paper (16–64), not for thousands.
// Widths of student and teacher may differ (each side's own geometry is compared). The reference
// computes the teacher side under no_grad; pass an empty grad_teacher to match. B = 1 has no
// pair: L = 0 with zero gradient (the reference returns NaN from a mean over no entries).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/baselines/detail/pairwise.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

namespace ccl::loss::baselines {

struct RkdOptions {
  double distance_weight = 25.0;  ///< w_d
  double angle_weight = 50.0;     ///< w_a
  bool check_finite = true;
};

namespace detail {

template <class Scalar>
Scalar smooth_l1(Scalar x) {
  const Scalar a = std::abs(x);
  return a < Scalar(1) ? Scalar(0.5) * x * x : a - Scalar(0.5);
}

template <class Scalar>
Scalar smooth_l1_grad(Scalar x) {
  return std::abs(x) < Scalar(1) ? x : (x > 0 ? Scalar(1) : Scalar(-1));
}

/// One side of RKD's distance potential: distances, their mean and the backward pass.
template <class Scalar>
class NormalizedDistances {
 public:
  static constexpr double clamp = 1e-12;

  void forward(const EmbeddingView<const Scalar>& x) {
    squared_distances(x, sq_);
    d_ = sq_.array().max(Scalar(clamp)).sqrt().matrix();
    d_.diagonal().setZero();
    const Index b = x.rows();
    pairs_ = b * (b - 1);
    mean_ = pairs_ > 0 ? Scalar(d_.sum() / Scalar(pairs_)) : Scalar(1);
    dn_ = d_ / mean_;
  }

  const RowMatrix<Scalar>& normalized() const { return dn_; }

  /// grad_x += weight · dL/dx given G = dL/d(normalized), zero on the diagonal.
  void backward(const EmbeddingView<const Scalar>& x, const RowMatrix<Scalar>& g, Scalar weight,
                const EmbeddingView<Scalar>& grad_x) {
    if (pairs_ == 0) return;
    // dn = d / μ with μ the mean of the off-diagonal d: dL/dd_ij = (G_ij - Σ G⊙dn / M) / μ.
    const Scalar through_mean = g.cwiseProduct(dn_).sum() / Scalar(pairs_);
    grad_sq_ = ((g.array() - through_mean) / mean_ / (Scalar(2) * d_.array().max(Scalar(clamp))) *
                (sq_.array() > Scalar(clamp)).template cast<Scalar>())
                   .matrix();
    grad_sq_.diagonal().setZero();
    squared_distances_backward(x, grad_sq_, weight, grad_x);
  }

 private:
  RowMatrix<Scalar> sq_, d_, dn_, grad_sq_;
  Scalar mean_ = 1;
  Index pairs_ = 0;
};

/// Unit difference vectors u_ab = normalize(x_b - x_a) for one anchor a, and their backward pass.
template <class Scalar>
class AnchorDirections {
 public:
  static constexpr double eps = 1e-12;

  void forward(const EmbeddingView<const Scalar>& x, Index anchor) {
    const auto m = x.matrix();
    unit_ = m.rowwise() - m.row(anchor);
    norms_ = unit_.rowwise().norm();
    for (Index b = 0; b < m.rows(); ++b) unit_.row(b) /= std::max(norms_[b], Scalar(eps));
    cosines_.resize(unit_.rows(), unit_.rows());
    gemm(cosines_, gemm_arg(unit_), gemm_arg_transposed(unit_), Gemm::overwrite);
  }

  const RowMatrix<Scalar>& cosines() const { return cosines_; }

  /// grad_x += weight · dL/dx given G = dL/dcos for this anchor.
  void backward(Index anchor, const RowMatrix<Scalar>& g, Scalar weight,
                const EmbeddingView<Scalar>& grad_x) {
    sym_ = g + g.transpose();
    grad_u_.resize(unit_.rows(), unit_.cols());
    gemm(grad_u_, gemm_arg(sym_), gemm_arg(unit_), Gemm::overwrite);
    auto out = grad_x.matrix();
    for (Index b = 0; b < unit_.rows(); ++b) {
      // u_aa is the constant zero vector: its +/- contributions cancel exactly, so skip it
      // rather than add and subtract grad / 1e-12.
      if (b == anchor) continue;
      Eigen::Matrix<Scalar, 1, Eigen::Dynamic> gv;
      if (norms_[b] > Scalar(eps)) {
        gv = (grad_u_.row(b) - unit_.row(b) * unit_.row(b).dot(grad_u_.row(b))) / norms_[b];
      } else {
        gv = grad_u_.row(b) / Scalar(eps);  // PyTorch's normalize backward where the norm clamps
      }
      out.row(b) += weight * gv;
      out.row(anchor) -= weight * gv;
    }
  }

 private:
  RowMatrix<Scalar> unit_, cosines_, grad_u_, sym_;
  Vector<Scalar> norms_;
};

}  // namespace detail

/// Per-term values of the last RKD call (unweighted).
template <class Scalar>
struct RkdTerms {
  Scalar distance{};
  Scalar angle{};
};

namespace detail {

/// RKD's arithmetic on one backend, (L_D, L_A) with the gradients of w_d L_D + w_a L_A added: the
/// host version (one anchor at a time); the device one, chunked over anchors with batched GEMMs,
/// is the specialisation in <ccl/cuda/loss/baselines/rkd.hpp>.
template <class Scalar, class Backend>
class RkdArithmetic {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::loss::baselines::Rkd<Scalar, ccl::cuda> needs "
                "<ccl/cuda/loss/baselines/rkd.hpp>; include it (or <ccl/cuda.hpp>)");

 public:
  /// The host walks one anchor at a time: the chunk (a device setting) is accepted and unused.
  void set_angle_chunk(Index /*anchors*/) {}

  std::pair<double, double> operator()(const EmbeddingView<const Scalar>& student,
                                       const EmbeddingView<const Scalar>& teacher, Scalar weight,
                                       const RkdOptions& options,
                                       const EmbeddingView<Scalar>& grad_student,
                                       const EmbeddingView<Scalar>& grad_teacher,
                                       Workspace<cpu>& /*workspace*/) {
    const Index b = student.rows();
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;

    // Distance term.
    ds_.forward(student);
    dt_.forward(teacher);
    diff_ = ds_.normalized() - dt_.normalized();
    double distance = 0;
    for (Index i = 0; i < b; ++i)
      for (Index j = 0; j < b; ++j) distance += double(smooth_l1(diff_(i, j)));
    distance /= double(b) * double(b);
    const Scalar wd = weight * Scalar(options.distance_weight) / Scalar(b * b);
    if (want_s || want_t) {
      g_ = diff_.unaryExpr([](Scalar x) { return smooth_l1_grad(x); }) * wd;
      if (want_s) ds_.backward(student, g_, Scalar(1), grad_student);
      if (want_t) dt_.backward(teacher, g_, Scalar(-1), grad_teacher);
    }

    // Angle term, one anchor at a time.
    double angle = 0;
    const Scalar wa = weight * Scalar(options.angle_weight) / Scalar(b * b * b);
    for (Index a = 0; a < b; ++a) {
      as_.forward(student, a);
      at_.forward(teacher, a);
      diff_ = as_.cosines() - at_.cosines();
      for (Index i = 0; i < b; ++i)
        for (Index j = 0; j < b; ++j) angle += double(smooth_l1(diff_(i, j)));
      if (!want_s && !want_t) continue;
      g_ = diff_.unaryExpr([](Scalar x) { return smooth_l1_grad(x); }) * wa;
      if (want_s) as_.backward(a, g_, Scalar(1), grad_student);
      if (want_t) at_.backward(a, g_, Scalar(-1), grad_teacher);
    }
    angle /= double(b) * double(b) * double(b);

    return {distance, angle};
  }

 private:
  NormalizedDistances<Scalar> ds_, dt_;
  AnchorDirections<Scalar> as_, at_;
  RowMatrix<Scalar> diff_, g_;
};

}  // namespace detail

template <class Scalar, class Backend = cpu>
class Rkd : public PairLossInterface<Rkd<Scalar, Backend>, Scalar>,
            public detail::PairBaseline<RkdOptions, Backend> {
  using Base = detail::PairBaseline<RkdOptions, Backend>;
  using Base::options_;
  using Base::workspace_;

  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::Rkd: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda "
                "include <ccl/cuda/loss/baselines/rkd.hpp> or <ccl/cuda.hpp>)");
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Rkd: the scalar type must be float or double");

 public:
  using Options = RkdOptions;
  static constexpr double default_beta = 1.0;

  using Base::Base;
  /// L_D and L_A of the last call, before w_d and w_a.
  const RkdTerms<Scalar>& terms() const { return terms_; }
  /// Anchors of the angle term per batched step on the device: 0 (the default) picks about 2^24
  /// live elements per side (rkd_angle_chunk); a smaller number bounds the workspace further.
  /// The CPU walks one anchor at a time and ignores it.
  void set_angle_chunk(Index anchors) {
    require(anchors >= 0, "rkd: the angle chunk must be >= 0, got ", anchors);
    arithmetic_.set_angle_chunk(anchors);
  }

  /// Returns w_d L_D + w_a L_A and adds weight · its gradients into the non-empty views.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "rkd";
    this->begin_call(op, student, teacher, grad_student, grad_teacher, detail::Widths::may_differ);
    require(std::isfinite(options_.distance_weight) && std::isfinite(options_.angle_weight), op,
            ": distance_weight and angle_weight must be finite, got ", options_.distance_weight,
            " and ", options_.angle_weight);
    const auto [distance, angle] =
        arithmetic_(student, teacher, weight, options_, grad_student, grad_teacher, workspace_);
    terms_.distance = Scalar(distance);
    terms_.angle = Scalar(angle);
    return Scalar(options_.distance_weight * distance + options_.angle_weight * angle);
  }

 private:
  RkdTerms<Scalar> terms_;
  detail::RkdArithmetic<Scalar, Backend> arithmetic_;
};

}  // namespace ccl::loss::baselines
