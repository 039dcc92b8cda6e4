#pragma once
// Device versions of ccl/loss/baselines/detail/pairwise.hpp: the pairwise squared distances of
// the rows of a [B, D] batch from one Gram GEMM, sq_ij = -2 x_i·x_j + ‖x_i‖² + ‖x_j‖², and the
// backward pass dL/dx = 2 diag(rowsum(H) + colsum(H)) x - 2 (H + Hᵀ) x for H = dL/dsq. B x B
// device workspaces, as on the CPU (per-batch baselines).

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_pairwise.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::gpu::baselines {

template <class Scalar>
class DeviceSquaredDistances {
 public:
  /// sq (contiguous [B, B]) for the rows of x; x may be strided.
  void forward(const EmbeddingView<const Scalar, cuda>& x, BaselineWorkspace& workspace,
               DeviceBuffer<Scalar>& sq) {
    namespace k = kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const int d = static_cast<int>(x.cols());
    const cudaStream_t stream = workspace.stream();
    norms2_.resize(std::size_t(b));
    sq.resize(std::size_t(b) * std::size_t(b));
    k::row_norms_kernel<Scalar>
        <<<kernels::blocks_for(b, k::warps_per_block), 32 * k::warps_per_block, 0, stream>>>(
            x.data(), std::ptrdiff_t(x.row_stride()), b, d, Scalar(0), nullptr, norms2_.data(),
            nullptr);
    CCL_CUDA_CHECK_LAUNCH("row_norms_kernel");
    gemm_row_major<Scalar>(workspace.handle(), false, true, b, b, d, Scalar(-2), x.data(),
                           x.row_stride(), x.data(), x.row_stride(), Scalar(0), sq.data(), b);
    gpu::launch_elementwise("add_norms_kernel", static_cast<long long>(b) * b, stream,
                            k::add_norms_kernel<Scalar>, sq.data(), norms2_.data(), b);
  }

  /// grad_x += weight · dL/dx for H = dL/dsq (contiguous [B, B]).
  void backward(const EmbeddingView<const Scalar, cuda>& x, const Scalar* h, Scalar weight,
                const EmbeddingView<Scalar, cuda>& grad_x, BaselineWorkspace& workspace) {
    namespace k = kernels::baselines;
    const int b = static_cast<int>(x.rows());
    const int d = static_cast<int>(x.cols());
    const cudaStream_t stream = workspace.stream();
    sym_.resize(std::size_t(b) * std::size_t(b));
    diag_.resize(std::size_t(b));
    k::symmetrize_kernel<Scalar><<<dim3(unsigned(b), 1u), k::pair_threads, 0, stream>>>(
        h, b, Scalar(1), sym_.data(), diag_.data());
    CCL_CUDA_CHECK_LAUNCH("symmetrize_kernel");
    k::add_scaled_rows_kernel<Scalar>
        <<<kernels::blocks_for(b, k::warps_per_block), 32 * k::warps_per_block, 0, stream>>>(
            x.data(), std::ptrdiff_t(x.row_stride()), b, d, diag_.data(), Scalar(2) * weight,
            grad_x.data(), std::ptrdiff_t(grad_x.row_stride()));
    CCL_CUDA_CHECK_LAUNCH("add_scaled_rows_kernel");
    gemm_row_major<Scalar>(workspace.handle(), false, false, b, d, b, Scalar(-2) * weight,
                           sym_.data(), b, x.data(), x.row_stride(), Scalar(1), grad_x.data(),
                           grad_x.row_stride());
  }

 private:
  DeviceBuffer<Scalar> norms2_, sym_, diag_;
};

}  // namespace ccl::gpu::baselines
