#pragma once
// Ifd<Scalar, ccl::cuda>: the device version of IFD (ccl/loss/baselines/ifd.hpp), one layer pair
// of the information-flow loss: per kernel (cosine, Student-t, or both),
//   L = (1/B²) Σ_ij (P^t_ij - P^s_ij)(log P^t_ij - log P^s_ij), P clamped at the smallest normal,
// same interface on device views, same value and gradients. Gram matrices by cuBLAS; B x B
// device workspaces (a per-batch loss). ifd_layer_weight() is host arithmetic shared with the CPU.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_pairwise.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/cuda/loss/baselines/detail/probabilities.hpp>
#include <ccl/loss/baselines/ifd.hpp>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstddef>
#include <limits>

namespace ccl::loss::baselines {

template <class Scalar>
class Ifd<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Ifd: the scalar type must be float or double");

 public:
  using Options = IfdOptions;

  Ifd() = default;
  explicit Ifd(Options options) : options_(options) {}
  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L(F_s, F_t) for one layer pair and adds weight · dL/dF into the non-empty views.
  /// Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> student,
                    EmbeddingView<const Scalar, cuda> teacher, LabelView /*labels*/, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_student,
                    EmbeddingView<Scalar, cuda> grad_teacher) {
    constexpr const char* op = "ifd";
    workspace_.begin();
    gpu::baselines::check_device_pair(op, student, teacher, grad_student, grad_teacher,
                                   detail::Widths::may_differ, options_.check_finite, workspace_);
    require(std::isfinite(options_.eps) && options_.eps > 0, op,
            ": eps must be positive and finite, got ", options_.eps);
    double total = 0;
    if (options_.kernels != IfdKernels::student_t) {
      total += term(detail::Kernel::cosine, student, teacher, weight, grad_student, grad_teacher);
    }
    if (options_.kernels != IfdKernels::cosine) {
      total += term(detail::Kernel::student_t, student, teacher, weight, grad_student, grad_teacher);
    }
    return Scalar(total);
  }

 private:
  double term(detail::Kernel kernel, const EmbeddingView<const Scalar, cuda>& student,
              const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
              const EmbeddingView<Scalar, cuda>& grad_student,
              const EmbeddingView<Scalar, cuda>& grad_teacher) {
    namespace k = gpu::kernels::baselines;
    const Scalar eps = Scalar(options_.eps);
    const int b = static_cast<int>(student.rows());
    const Scalar inv_b2 = Scalar(1) / Scalar(Index(b) * Index(b));
    constexpr Scalar tiny = std::numeric_limits<Scalar>::min();
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;
    s_.forward(student, kernel, eps, workspace_);
    t_.forward(teacher, kernel, eps, workspace_);
    const std::size_t bb = std::size_t(b) * std::size_t(b);
    grad_ps_.resize(bb);
    grad_pt_.resize(bb);
    k::probability_loss_kernel<Scalar><<<b, k::pair_threads, 0, workspace_.stream()>>>(
        s_.p(), t_.p(), b, k::ProbabilityLoss::ifd, tiny, inv_b2,
        want_s ? grad_ps_.data() : nullptr, want_t ? grad_pt_.data() : nullptr,
        workspace_.row_losses(std::size_t(b)));
    CCL_CUDA_CHECK_LAUNCH("probability_loss_kernel");
    if (want_s) s_.backward(student, grad_ps_.data(), weight, grad_student, workspace_);
    if (want_t) t_.backward(teacher, grad_pt_.data(), weight, grad_teacher, workspace_);
    return workspace_.sum_row_losses(b) * double(inv_b2);
  }

  Options options_;
  gpu::baselines::BaselineWorkspace workspace_;
  gpu::baselines::DeviceProbabilities<Scalar> s_, t_;
  gpu::DeviceBuffer<Scalar> grad_ps_, grad_pt_;
};

}  // namespace ccl::loss::baselines
