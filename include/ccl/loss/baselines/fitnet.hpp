#pragma once
// FitNet hint loss (Romero et al., ICLR 2015; method.md §8.2), RepDistiller's `HintLoss`:
//
//   L = (1/(B·D)) Σ_i Σ_d (r(f_s)_id - f_t,id)²       (PyTorch MSELoss, mean over all elements)
//
// The loss acts on the *regressed* student features r(f_s), which must have the teacher's shape;
// the trainable regressor r is a separate module applied by the caller (for 512-d embeddings,
// Linear(512 → 512) → BatchNorm1d → ReLU is the inferred analogue of RepDistiller's ConvReg, see
// docs/baselines.md), so its parameters get their gradient from the regressor's own backward.
// RepDistiller trains the hint jointly with β = 100 (default_beta); apply β as the accumulate
// weight. The reference detaches the teacher; pass an empty grad_teacher to match.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <type_traits>

namespace ccl::loss::baselines {

struct FitNetOptions {
  bool check_finite = true;
};

namespace detail {

/// FitNet's arithmetic on one backend (the host version; the device one, a row kernel, is the
/// specialisation in <ccl/cuda/loss/baselines/fitnet.hpp>). Returns L, adds weight · dL/d·.
template <class Scalar, class Backend>
struct FitNetRows {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::loss::baselines::FitNet<Scalar, ccl::cuda> needs "
                "<ccl/cuda/loss/baselines/fitnet.hpp>; include it (or <ccl/cuda.hpp>)");
  Scalar operator()(const EmbeddingView<const Scalar>& regressed,
                    const EmbeddingView<const Scalar>& teacher, Scalar weight,
                    const EmbeddingView<Scalar>& grad_regressed,
                    const EmbeddingView<Scalar>& grad_teacher, Workspace<cpu>& /*workspace*/) {
    const Scalar count = Scalar(regressed.rows() * regressed.cols());
    double total = 0;
    const auto s = regressed.matrix();
    const auto t = teacher.matrix();
    for (Index i = 0; i < s.rows(); ++i) total += double((s.row(i) - t.row(i)).squaredNorm());
    const Scalar scale = Scalar(2) * weight / count;
    if (grad_regressed.data() != nullptr) grad_regressed.matrix() += scale * (s - t);
    if (grad_teacher.data() != nullptr) grad_teacher.matrix() -= scale * (s - t);
    return Scalar(total / double(count));
  }
};

}  // namespace detail

template <class Scalar, class Backend = cpu>
class FitNet : public PairLossInterface<FitNet<Scalar, Backend>, Scalar>,
               public detail::PairBaseline<FitNetOptions, Backend> {
  using Base = detail::PairBaseline<FitNetOptions, Backend>;
  using Base::options_;
  using Base::workspace_;

  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::FitNet: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/loss/baselines/fitnet.hpp> or <ccl/cuda.hpp>)");
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::FitNet: the scalar type must be float or double");

 public:
  using Options = FitNetOptions;
  static constexpr double default_beta = 100.0;

  using Base::Base;

  /// Returns L(r(f_s), f_t) and adds weight · dL/d· into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> regressed,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_regressed,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "fitnet";
    this->begin_call(op, regressed, teacher, grad_regressed, grad_teacher,
                     detail::Widths::must_match);
    return rows_(regressed, teacher, weight, grad_regressed, grad_teacher, workspace_);
  }

 private:
  detail::FitNetRows<Scalar, Backend> rows_;
};

}  // namespace ccl::loss::baselines
