#pragma once
// Device version of ccl/loss/baselines/detail/probability_kernels.hpp, shared by PKT and IFD:
//   cosine:     u_i = x_i / (‖x_i‖ + eps),  K_ij = (u_i·u_j + 1) / 2
//   Student-t:  δ_ij = sqrt(max(sq_ij, 0) + eps),  K_ij = 1 / (1 + δ_ij)
//   both:       P_ij = K_ij / Σ_k K_ik
// forward() keeps on the device what backward() needs; one object serves one side of one call.
// The Gram matrix is one cuBLAS GEMM (B x B, as on the CPU); the rest are the small kernels of
// kernels/baselines_pairwise.cuh. Below it, ProbabilityTerm<Scalar, ccl::cuda>: the PKT / IFD
// term of ccl/loss/baselines/detail/probability_term.hpp on the device.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_pairwise.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/cuda/loss/baselines/detail/pairwise.hpp>
#include <ccl/loss/baselines/detail/probability_kernels.hpp>
#include <ccl/loss/baselines/detail/probability_term.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <limits>

namespace ccl::gpu::baselines {

template <class Scalar>
class DeviceProbabilities {
 public:
  using Kernel = loss::baselines::detail::Kernel;

  void forward(const EmbeddingView<const Scalar, cuda>& x, Kernel kernel, Scalar eps,
               BaselineWorkspace& workspace) {
    namespace k = kernels::baselines;
    kernel_ = kernel;
    eps_ = eps;
    const int b = static_cast<int>(x.rows());
    const int d = static_cast<int>(x.cols());
    const cudaStream_t stream = workspace.stream();
    const std::size_t bb = std::size_t(b) * std::size_t(b);
    if (kernel == Kernel::cosine) {
      norms_.resize(std::size_t(b));
      unit_.resize(std::size_t(b) * std::size_t(d));
      g_.resize(bb);
      k::row_norms_kernel<Scalar>
          <<<kernels::blocks_for(b, k::warps_per_block), 32 * k::warps_per_block, 0, stream>>>(
              x.data(), std::ptrdiff_t(x.row_stride()), b, d, eps, norms_.data(), nullptr,
              unit_.data());
      CCL_CUDA_CHECK_LAUNCH("row_norms_kernel");
      gemm_row_major<Scalar>(workspace.handle(), false, true, b, b, d, Scalar(1), unit_.data(), d,
                             unit_.data(), d, Scalar(0), g_.data(), b);
    } else {
      distances_.forward(x, workspace, g_);
    }
    k_.resize(bb);
    p_.resize(bb);
    row_sum_.resize(std::size_t(b));
    k::probabilities_kernel<Scalar><<<b, k::pair_threads, 0, stream>>>(
        g_.data(), b, kernel == Kernel::cosine, eps, k_.data(), p_.data(), row_sum_.data());
    CCL_CUDA_CHECK_LAUNCH("probabilities_kernel");
  }

  /// P (contiguous [B, B]) of the last forward.
  const Scalar* p() const { return p_.data(); }

  /// grad_x += weight · dL/dx, given grad_p = dL/dP (contiguous [B, B], overwritten).
  void backward(const EmbeddingView<const Scalar, cuda>& x, Scalar* grad_p, Scalar weight,
                const EmbeddingView<Scalar, cuda>& grad_x, BaselineWorkspace& workspace) {
    namespace k = kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const int d = static_cast<int>(x.cols());
    const cudaStream_t stream = workspace.stream();
    const bool cosine = kernel_ == Kernel::cosine;
    // grad_p becomes dL/dK (cosine) or dL/dsq (Student-t).
    k::probability_backward_kernel<Scalar><<<b, k::pair_threads, 0, stream>>>(
        grad_p, p_.data(), g_.data(), row_sum_.data(), b, cosine, eps_);
    CCL_CUDA_CHECK_LAUNCH("probability_backward_kernel");
    if (!cosine) {
      distances_.backward(x, grad_p, weight, grad_x, workspace);
      return;
    }
    // K = (U Uᵀ + 1)/2, so dL/dU = ½ (G_K + G_Kᵀ) U.
    sym_.resize(std::size_t(b) * std::size_t(b));
    grad_u_.resize(std::size_t(b) * std::size_t(d));
    k::symmetrize_kernel<Scalar><<<dim3(unsigned(b), 1u), k::pair_threads, 0, stream>>>(
        grad_p, b, Scalar(0.5), sym_.data(), nullptr);
    CCL_CUDA_CHECK_LAUNCH("symmetrize_kernel");
    gemm_row_major<Scalar>(workspace.handle(), false, false, b, d, b, Scalar(1), sym_.data(), b,
                           unit_.data(), d, Scalar(0), grad_u_.data(), d);
    k::cosine_rows_backward_kernel<Scalar>
        <<<kernels::blocks_for(b, k::warps_per_block), 32 * k::warps_per_block, 0, stream>>>(
            x.data(), std::ptrdiff_t(x.row_stride()), b, d, norms_.data(), eps_, grad_u_.data(),
            weight, grad_x.data(), std::ptrdiff_t(grad_x.row_stride()));
    CCL_CUDA_CHECK_LAUNCH("cosine_rows_backward_kernel");
  }

 private:
  Kernel kernel_ = Kernel::cosine;
  Scalar eps_ = 0;
  DeviceSquaredDistances<Scalar> distances_;
  DeviceBuffer<Scalar> norms_, unit_, g_, k_, p_, row_sum_, sym_, grad_u_;
};

}  // namespace ccl::gpu::baselines

namespace ccl::loss::baselines::detail {

template <class Scalar>
class ProbabilityTerm<Scalar, cuda> {
 public:
  /// Returns the term (double) and adds weight · its gradients into the non-empty views.
  double operator()(ProbabilityLoss loss, Kernel kernel, Scalar eps,
                    const EmbeddingView<const Scalar, cuda>& student,
                    const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
                    const EmbeddingView<Scalar, cuda>& grad_student,
                    const EmbeddingView<Scalar, cuda>& grad_teacher, Workspace<cuda>& workspace) {
    namespace k = gpu::kernels::baselines;
    const int b = static_cast<int>(student.rows());
    const Scalar inv_b2 = Scalar(1) / Scalar(Index(b) * Index(b));
    const bool want_s = grad_student.data() != nullptr;
    const bool want_t = grad_teacher.data() != nullptr;
    s_.forward(student, kernel, eps, workspace);
    t_.forward(teacher, kernel, eps, workspace);
    const std::size_t bb = std::size_t(b) * std::size_t(b);
    grad_ps_.resize(bb);
    grad_pt_.resize(bb);
    // PKT's eps sits inside the logs and ratios; IFD clamps at the smallest normal instead.
    const bool pkt = loss == ProbabilityLoss::pkt;
    k::probability_loss_kernel<Scalar><<<b, k::pair_threads, 0, workspace.stream()>>>(
        s_.p(), t_.p(), b, pkt ? k::ProbabilityLoss::pkt : k::ProbabilityLoss::ifd,
        pkt ? eps : std::numeric_limits<Scalar>::min(), inv_b2, want_s ? grad_ps_.data() : nullptr,
        want_t ? grad_pt_.data() : nullptr, workspace.row_losses(std::size_t(b)));
    CCL_CUDA_CHECK_LAUNCH("probability_loss_kernel");
    if (want_s) s_.backward(student, grad_ps_.data(), weight, grad_student, workspace);
    if (want_t) t_.backward(teacher, grad_pt_.data(), weight, grad_teacher, workspace);
    return workspace.sum_row_losses(b) * double(inv_b2);
  }

 private:
  gpu::baselines::DeviceProbabilities<Scalar> s_, t_;
  gpu::DeviceBuffer<Scalar> grad_ps_, grad_pt_;
};

}  // namespace ccl::loss::baselines::detail
