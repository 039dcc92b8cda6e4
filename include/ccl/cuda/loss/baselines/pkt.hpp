#pragma once
// Pkt<Scalar, ccl::cuda>: the device version of PKT (ccl/loss/baselines/pkt.hpp),
//   u_i = f_i / (‖f_i‖ + eps), K_ij = (u_i·u_j + 1)/2, P = K / rowsum(K) per side,
//   L = (1/B²) Σ_ij P^t_ij log((P^t_ij + eps) / (P^s_ij + eps)),
// same interface on device views, same value and gradients. Each side's Gram matrix is one
// cuBLAS GEMM; B x B workspaces are kept on the device (PKT is a per-batch loss).

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
#include <ccl/loss/baselines/pkt.hpp>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstddef>

namespace ccl::loss::baselines {

template <class Scalar>
class Pkt<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Pkt: the scalar type must be float or double");

 public:
  using Options = PktOptions;
  static constexpr double default_beta = 30000.0;

  Pkt() = default;
  explicit Pkt(Options options) : options_(options) {}
  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L(f_s, f_t) and adds weight · dL/df into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> student,
                    EmbeddingView<const Scalar, cuda> teacher, LabelView /*labels*/, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_student,
                    EmbeddingView<Scalar, cuda> grad_teacher) {
    namespace k = gpu::kernels::baselines;
    constexpr const char* op = "pkt";
    const cudaStream_t stream = workspace_.begin();
    gpu::baselines::check_device_pair(op, student, teacher, grad_student, grad_teacher,
                                   detail::Widths::may_differ, options_.check_finite, workspace_);
    require(std::isfinite(options_.eps) && options_.eps > 0, op,
            ": eps must be positive and finite, got ", options_.eps);
    const Scalar eps = Scalar(options_.eps);
    const int b = static_cast<int>(student.rows());
    const Scalar inv_b2 = Scalar(1) / Scalar(Index(b) * Index(b));
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;
    s_.forward(student, detail::Kernel::cosine, eps, workspace_);
    t_.forward(teacher, detail::Kernel::cosine, eps, workspace_);
    const std::size_t bb = std::size_t(b) * std::size_t(b);
    grad_ps_.resize(bb);
    grad_pt_.resize(bb);
    k::probability_loss_kernel<Scalar><<<b, k::pair_threads, 0, stream>>>(
        s_.p(), t_.p(), b, k::ProbabilityLoss::pkt, eps, inv_b2,
        want_s ? grad_ps_.data() : nullptr, want_t ? grad_pt_.data() : nullptr,
        workspace_.row_losses(std::size_t(b)));
    CCL_CUDA_CHECK_LAUNCH("probability_loss_kernel");
    if (want_s) s_.backward(student, grad_ps_.data(), weight, grad_student, workspace_);
    if (want_t) t_.backward(teacher, grad_pt_.data(), weight, grad_teacher, workspace_);
    return Scalar(workspace_.sum_row_losses(b) * double(inv_b2));
  }

 private:
  Options options_;
  gpu::baselines::BaselineWorkspace workspace_;
  gpu::baselines::DeviceProbabilities<Scalar> s_, t_;
  gpu::DeviceBuffer<Scalar> grad_ps_, grad_pt_;
};

}  // namespace ccl::loss::baselines
