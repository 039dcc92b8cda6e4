#pragma once
// The CUDA backend of SymmetricKl (the official "JSD"): specialises
// Implementation<loss::ops::SymmetricKl<Scalar>, ccl::cuda>, so that
// loss::SymmetricKl<float, ccl::cuda> takes device logits and returns the CPU backend's value and
// gradients (ccl/loss/symmetric_kl.hpp), both numerics. Host glue; the kernel is
// kernels/symmetric_kl.cuh.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/reduce.cuh>
#include <ccl/cuda/kernels/symmetric_kl.cuh>
#include <ccl/cuda/settings.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include <cuda_runtime_api.h>

#include <climits>
#include <cmath>
#include <cstddef>

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::SymmetricKl<Scalar>, cuda> {
  /// Returns L(z1, z2) and adds weight * dL/dz1, weight * dL/dz2 into the non-empty views.
  Scalar run(EmbeddingView<const Scalar, cuda> z1, EmbeddingView<const Scalar, cuda> z2,
             const loss::SymmetricKlOptions& options, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_z1, EmbeddingView<Scalar, cuda> grad_z2) {
    constexpr const char* op = "symmetric_kl";
    require(z1.rows() > 0, op, ": empty batch (z1 has shape ", z1.shape(), ")");
    require(z1.cols() > 0, op, ": z1 has no classes (shape ", z1.shape(), ")");
    checks::same_shape(op, "z1", z1, "z2", z2);
    checks::gradient_shape(op, "z1", z1, "grad_z1", grad_z1);
    checks::gradient_shape(op, "z2", z2, "grad_z2", grad_z2);
    require(std::isfinite(options.weight) && options.weight >= 0, op,
            ": weight must be finite and >= 0, got ", options.weight);
    require(z1.rows() <= INT_MAX && z1.cols() <= INT_MAX, op, ": shape ", z1.shape(),
            " exceeds the CUDA backend's 32-bit row and column indices");
    gpu::require_device_memory(op, "z1", z1);
    gpu::require_device_memory(op, "z2", z2);
    gpu::require_device_memory(op, "grad_z1", grad_z1);
    gpu::require_device_memory(op, "grad_z2", grad_z2);
    const cudaStream_t stream = gpu::settings().stream;
    if (options.check_finite) {
      gpu::checks::finite(op, "z1", z1, finite_scratch_, stream);
      gpu::checks::finite(op, "z2", z2, finite_scratch_, stream);
    }

    const int batch = static_cast<int>(z1.rows());
    row_loss_.resize(std::size_t(batch));
    total_.resize(1);
    const Scalar scale = weight * Scalar(options.weight) / Scalar(batch);
    gpu::kernels::symmetric_kl_kernel<Scalar>
        <<<batch, gpu::kernels::symmetric_kl_threads, 0, stream>>>(
            z1.data(), std::ptrdiff_t(z1.row_stride()), z2.data(), std::ptrdiff_t(z2.row_stride()),
            static_cast<int>(z1.cols()), options.numerics == loss::Numerics::official,
            Scalar(std::log(loss::detail::symmetric_kl_epsilon)), scale, grad_z1.data(),
            std::ptrdiff_t(grad_z1.row_stride()), grad_z2.data(),
            std::ptrdiff_t(grad_z2.row_stride()), row_loss_.data());
    CCL_CUDA_CHECK_LAUNCH("symmetric_kl_kernel");
    gpu::kernels::sum_row_losses_kernel<>
        <<<1, 256, 0, stream>>>(row_loss_.data(), batch, total_.data());
    CCL_CUDA_CHECK_LAUNCH("sum_row_losses_kernel");
    double total = 0;
    CCL_CUDA_CHECK(
        cudaMemcpyAsync(&total, total_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return Scalar(options.weight * total / double(batch));
  }

 private:
  gpu::DeviceBuffer<double> row_loss_, total_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

}  // namespace ccl
