#pragma once
// IFD in Table 1, read as information-flow distillation: Passalis, Tzelepi, Tefas,
// "Heterogeneous Knowledge Distillation using Information Flow Modeling", CVPR 2020, code
// passalis/pkth (method.md §8.7). The sources available to us never expand the abbreviation;
// this reading is INFERRED (same authors as PKT, built for heterogeneous teacher/student pairs),
// and docs/baselines.md flags it.
//
// One layer pair (student layer features F_s, teacher layer features F_t, each [B, d], widths may
// differ), the reference's `prob_loss` with kernel "combined" and loss "combined":
//
//   cosine kernel     K_ij = (cos(f_i, f_j) + 1)/2, rows scaled by 1/(‖f‖ + 1e-6)
//   Student-t kernel  K_ij = 1 / (1 + sqrt(max(‖f_i‖² + ‖f_j‖² - 2 f_i·f_j, 0) + 1e-6))
//   P_ij = K_ij / Σ_k K_ik per side and kernel
//   L = Σ_kernels (1/B²) Σ_ij (P^t_ij - P^s_ij)(log P^t_ij - log P^s_ij)   (Jeffreys, no eps)
//
// The reference takes log P with no epsilon; P is clamped to the smallest positive normal number
// before the log here, which changes nothing unless a kernel entry underflows (antiparallel
// samples in the cosine kernel), where the reference returns inf/NaN. The multi-layer "flow"
// sums this loss over matched layer pairs with weights from ifd_layer_weight().

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/baselines/detail/probability_term.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>

#include <type_traits>

namespace ccl::loss::baselines {

/// Which similarity kernels the IFD term sums (the reference's default is both).
enum class IfdKernels { combined, cosine, student_t };

struct IfdOptions {
  IfdKernels kernels = IfdKernels::combined;
  /// The 1e-6 of the reference: added to the norms (cosine) and under the square root (Student-t).
  double eps = 1e-6;
  bool check_finite = true;
};

/// Weight of one layer pair of the information flow at an epoch (0-based): the last (embedding)
/// layer always 1, every intermediate layer `initial` · decay^epoch (100 and 0.7 in the
/// reference), so intermediate layers dominate early (the "critical period") and fade later.
inline double ifd_layer_weight(int epoch, bool last_layer, double initial = 100.0,
                               double decay = 0.7) {
  require(epoch >= 0, "ifd_layer_weight: epoch must be >= 0, got ", epoch);
  require(std::isfinite(initial) && std::isfinite(decay) && decay >= 0,
          "ifd_layer_weight: initial and decay must be finite, decay >= 0; got ", initial, ", ",
          decay);
  return last_layer ? 1.0 : initial * std::pow(decay, epoch);
}

template <class Scalar, class Backend = cpu>
class Ifd : public PairLossInterface<Ifd<Scalar, Backend>, Scalar>,
            public detail::PairBaseline<IfdOptions, Backend> {
  using Base = detail::PairBaseline<IfdOptions, Backend>;
  using Base::options_;
  using Base::workspace_;

  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::Ifd: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/loss/baselines/ifd.hpp> or <ccl/cuda.hpp>)");
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Ifd: the scalar type must be float or double");

 public:
  using Options = IfdOptions;

  using Base::Base;

  /// Returns L(F_s, F_t) for one layer pair and adds weight · dL/dF into the non-empty views.
  /// Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "ifd";
    this->begin_call(op, student, teacher, grad_student, grad_teacher, detail::Widths::may_differ);
    require(std::isfinite(options_.eps) && options_.eps > 0, op,
            ": eps must be positive and finite, got ", options_.eps);
    const Scalar eps = Scalar(options_.eps);
    double total = 0;
    if (options_.kernels != IfdKernels::student_t) {
      total += term_(detail::ProbabilityLoss::ifd, detail::Kernel::cosine, eps, student, teacher,
                     weight, grad_student, grad_teacher, workspace_);
    }
    if (options_.kernels != IfdKernels::cosine) {
      total += term_(detail::ProbabilityLoss::ifd, detail::Kernel::student_t, eps, student, teacher,
                     weight, grad_student, grad_teacher, workspace_);
    }
    return Scalar(total);
  }

 private:
  detail::ProbabilityTerm<Scalar, Backend> term_;
};

}  // namespace ccl::loss::baselines
