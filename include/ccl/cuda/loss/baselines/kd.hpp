#pragma once
// The CUDA backend of Hinton KD, the baselines' Kd (ccl/loss/baselines/kd.hpp = ccl/loss/kd.hpp):
// specialises Implementation<loss::ops::HintonKd<Scalar>, ccl::cuda>, so that
// loss::baselines::Kd<float, ccl::cuda> (= loss::HintonKd<float, ccl::cuda>) takes device logits
// and returns the CPU backend's value and gradients. One block per row
// (kernels/baselines_rows.cuh); the row losses are summed in double, as on the CPU.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_rows.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/baselines/kd.hpp>
#include <ccl/loss/kd.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::HintonKd<Scalar>, cuda> {
  void set_execution(const Execution<cuda>& execution) { workspace_.set_execution(execution); }

  /// Returns T² · mean_i KL(p^t_i ‖ p^s_i) and adds weight · its gradients into the non-empty
  /// views.
  Scalar run(EmbeddingView<const Scalar, cuda> student, EmbeddingView<const Scalar, cuda> teacher,
             const loss::HintonKdOptions& options, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_student, EmbeddingView<Scalar, cuda> grad_teacher) {
    // The arguments were checked by HintonKd::accumulate (shapes, temperature, device memory,
    // 32-bit extents, NaN/Inf).
    const cudaStream_t stream = workspace_.stream();
    const int batch = static_cast<int>(student.rows());
    const Scalar t = Scalar(options.temperature);
    const Scalar inv_t = Scalar(1.0 / options.temperature);
    const Scalar scale = weight * t / Scalar(batch);
    gpu::kernels::baselines::kd_rows_kernel<Scalar>
        <<<batch, gpu::kernels::baselines::rows_threads, 0, stream>>>(
            student.data(), std::ptrdiff_t(student.row_stride()), teacher.data(),
            std::ptrdiff_t(teacher.row_stride()), static_cast<int>(student.cols()), inv_t, scale,
            grad_student.data(), std::ptrdiff_t(grad_student.row_stride()), grad_teacher.data(),
            std::ptrdiff_t(grad_teacher.row_stride()), workspace_.row_losses(std::size_t(batch)));
    CCL_CUDA_CHECK_LAUNCH("kd_rows_kernel");
    const double total = workspace_.sum_row_losses(batch);
    return Scalar(double(t) * double(t) * total / double(batch));
  }

 private:
  gpu::baselines::BaselineWorkspace workspace_;
};

}  // namespace ccl
