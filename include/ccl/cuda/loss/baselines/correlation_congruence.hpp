#pragma once
// COR on device views: the class is written once (ccl/loss/baselines/correlation_congruence.hpp);
// this is its device arithmetic, one block per row (kernels/baselines_rows.cuh), the row losses
// summed in double as on the CPU.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_rows.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>

#include <cstddef>

namespace ccl::loss::baselines::detail {

template <class Scalar>
class CorrelationRows<Scalar, cuda> {
 public:
  Scalar operator()(const EmbeddingView<const Scalar, cuda>& student,
                    const EmbeddingView<const Scalar, cuda>& teacher, Scalar weight,
                    const EmbeddingView<Scalar, cuda>& grad_student,
                    const EmbeddingView<Scalar, cuda>& grad_teacher, Workspace<cuda>& workspace) {
    const int rows = static_cast<int>(student.rows());
    if (rows < 2) return Scalar(0);
    gpu::kernels::baselines::correlation_rows_kernel<Scalar>
        <<<rows, gpu::kernels::baselines::rows_threads, 0, workspace.stream()>>>(
            student.data(), std::ptrdiff_t(student.row_stride()), teacher.data(),
            std::ptrdiff_t(teacher.row_stride()), rows, static_cast<int>(student.cols()),
            weight / Scalar(rows - 1), grad_student.data(),
            std::ptrdiff_t(grad_student.row_stride()), grad_teacher.data(),
            std::ptrdiff_t(grad_teacher.row_stride()), workspace.row_losses(std::size_t(rows)));
    CCL_CUDA_CHECK_LAUNCH("correlation_rows_kernel");
    return Scalar(workspace.sum_row_losses(rows) / double(rows - 1));
  }
};

}  // namespace ccl::loss::baselines::detail
