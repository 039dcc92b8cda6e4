#pragma once
// FitNet on device views: the class is written once (ccl/loss/baselines/fitnet.hpp); this is its
// device arithmetic, L = (1/(B·D)) Σ (r(f_s) - f_t)² with one block per row
// (kernels/baselines_rows.cuh), the row losses summed in double as on the CPU.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_rows.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/loss/baselines/fitnet.hpp>

#include <cstddef>

namespace ccl::loss::baselines::detail {

template <class Scalar>
struct FitNetRows<Scalar, cuda> {
  Scalar operator()(const EmbeddingView<const Scalar, cuda>& regressed,
                    const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
                    const EmbeddingView<Scalar, cuda>& grad_regressed,
                    const EmbeddingView<Scalar, cuda>& grad_teacher, Workspace<cuda>& workspace) {
    const int rows = static_cast<int>(regressed.rows());
    const Scalar count = Scalar(regressed.rows() * regressed.cols());
    const Scalar scale = Scalar(2) * weight / count;
    gpu::kernels::baselines::fitnet_rows_kernel<Scalar>
        <<<rows, gpu::kernels::baselines::rows_threads, 0, workspace.stream()>>>(
            regressed.data(), std::ptrdiff_t(regressed.row_stride()), teacher.data(),
            std::ptrdiff_t(teacher.row_stride()), static_cast<int>(regressed.cols()), scale,
            grad_regressed.data(), std::ptrdiff_t(grad_regressed.row_stride()), grad_teacher.data(),
            std::ptrdiff_t(grad_teacher.row_stride()), workspace.row_losses(std::size_t(rows)));
    CCL_CUDA_CHECK_LAUNCH("fitnet_rows_kernel");
    return Scalar(workspace.sum_row_losses(rows) / double(count));
  }
};

}  // namespace ccl::loss::baselines::detail
