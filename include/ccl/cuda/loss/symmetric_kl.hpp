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
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/symmetric_kl.cuh>
#include <ccl/cuda/row_losses.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include <cuda_runtime_api.h>

#include <climits>
#include <cmath>
#include <cstddef>

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::SymmetricKl<Scalar>, cuda> {
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  /// Returns L(z1, z2) and adds weight * dL/dz1, weight * dL/dz2 into the non-empty views.
  Scalar run(EmbeddingView<const Scalar, cuda> z1, EmbeddingView<const Scalar, cuda> z2,
             const loss::SymmetricKlOptions& options, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_z1, EmbeddingView<Scalar, cuda> grad_z2) {
    // The arguments were checked by SymmetricKl::accumulate (shapes, weight, device memory,
    // 32-bit extents, NaN/Inf).
    const cudaStream_t stream = execution_.stream;
    const int batch = static_cast<int>(z1.rows());
    const Scalar scale = weight * Scalar(options.weight) / Scalar(batch);
    gpu::kernels::symmetric_kl_kernel<Scalar>
        <<<batch, gpu::kernels::symmetric_kl_threads, 0, stream>>>(
            z1.data(), std::ptrdiff_t(z1.row_stride()), z2.data(), std::ptrdiff_t(z2.row_stride()),
            static_cast<int>(z1.cols()), options.numerics == loss::Numerics::official,
            Scalar(std::log(loss::detail::symmetric_kl_epsilon)), scale, grad_z1.data(),
            std::ptrdiff_t(grad_z1.row_stride()), grad_z2.data(),
            std::ptrdiff_t(grad_z2.row_stride()), row_losses_.data(std::size_t(batch)));
    CCL_CUDA_CHECK_LAUNCH("symmetric_kl_kernel");
    const double total = row_losses_.sum(batch, stream);
    return Scalar(options.weight * total / double(batch));
  }

 private:
  gpu::RowLosses row_losses_;
  Execution<cuda> execution_;
};

}  // namespace ccl
