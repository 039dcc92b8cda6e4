#pragma once
// PKT, Probabilistic Knowledge Transfer (Passalis & Tefas, ECCV 2018; method.md §8.3), in the
// form of passalis/pkth and RepDistiller:
//
//   u_i = f_i / (‖f_i‖ + 1e-7),  K_ij = (u_i·u_j + 1)/2,  P_ij = K_ij / Σ_k K_ik   (each side)
//   L = (1/B²) Σ_ij P^t_ij log((P^t_ij + 1e-7) / (P^s_ij + 1e-7)).
//
// Only each modality's own similarity structure is matched, so student and teacher may have
// different widths and no trainable part is needed: PKT works across modalities unchanged. The
// mean over B² entries makes the raw value tiny, hence RepDistiller's β = 30000 (default_beta);
// apply β through the accumulate weight. The reference detaches the teacher; pass an empty
// grad_teacher to match (the teacher-side backward is then skipped). B = 1 gives P = [[1]] on
// both sides and L = 0.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>
#include <ccl/loss/baselines/detail/probability_term.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <cmath>

#include <type_traits>

namespace ccl::loss::baselines {

struct PktOptions {
  /// The 1e-7 added to the norms and inside the log ratio by the reference code.
  double eps = 1e-7;
  bool check_finite = true;
};

template <class Scalar, class Backend = cpu>
class Pkt : public PairLossInterface<Pkt<Scalar, Backend>, Scalar>,
            public detail::PairBaseline<PktOptions, Backend> {
  using Base = detail::PairBaseline<PktOptions, Backend>;
  using Base::options_;
  using Base::workspace_;

  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::Pkt: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/loss/baselines/pkt.hpp> or <ccl/cuda.hpp>)");
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Pkt: the scalar type must be float or double");

 public:
  using Options = PktOptions;
  /// RepDistiller's weight of the PKT term next to the cross-entropy.
  static constexpr double default_beta = 30000.0;

  using Base::Base;

  /// Returns L(f_s, f_t) and adds weight · dL/df into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> student,
                    EmbeddingView<const Scalar, Backend> teacher, LabelView /*labels*/,
                    Scalar weight, EmbeddingView<Scalar, Backend> grad_student,
                    EmbeddingView<Scalar, Backend> grad_teacher) {
    constexpr const char* op = "pkt";
    this->begin_call(op, student, teacher, grad_student, grad_teacher, detail::Widths::may_differ);
    require(std::isfinite(options_.eps) && options_.eps > 0, op,
            ": eps must be positive and finite, got ", options_.eps);
    return Scalar(term_(detail::ProbabilityLoss::pkt, detail::Kernel::cosine, Scalar(options_.eps),
                        student, teacher, weight, grad_student, grad_teacher, workspace_));
  }

 private:
  detail::ProbabilityTerm<Scalar, Backend> term_;
};

}  // namespace ccl::loss::baselines
