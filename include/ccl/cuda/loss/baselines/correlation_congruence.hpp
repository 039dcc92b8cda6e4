#pragma once
// CorrelationCongruence<Scalar, ccl::cuda>: the device version of COR
// (ccl/loss/baselines/correlation_congruence.hpp), L = (1/(B-1)) Σ_i Σ_d Δ_i,d Δ_{i+1},d with
// Δ = |e_s - e_t|; same interface on device views, same value and gradients (B = 1: L = 0, no
// gradient). One block per row (kernels/baselines_rows.cuh). The embedding heads stay the
// caller's (WithEmbedHeads is CPU-only: it runs nn layers).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_rows.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::loss::baselines {

template <class Scalar>
class CorrelationCongruence<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::CorrelationCongruence: the scalar type must be float or "
                "double");

 public:
  using Options = CorrelationCongruenceOptions;
  static constexpr double default_beta = 0.02;

  CorrelationCongruence() = default;
  explicit CorrelationCongruence(Options options) : options_(options) {}
  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L(e_s, e_t) and adds weight · dL/de into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> student,
                    EmbeddingView<const Scalar, cuda> teacher, LabelView /*labels*/, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_student,
                    EmbeddingView<Scalar, cuda> grad_teacher) {
    constexpr const char* op = "correlation_congruence";
    const cudaStream_t stream = workspace_.begin();
    gpu::baselines::check_device_pair(op, student, teacher, grad_student, grad_teacher,
                                   detail::Widths::must_match, options_.check_finite, workspace_);
    const int rows = static_cast<int>(student.rows());
    if (rows < 2) return Scalar(0);
    gpu::kernels::baselines::correlation_rows_kernel<Scalar>
        <<<rows, gpu::kernels::baselines::rows_threads, 0, stream>>>(
            student.data(), std::ptrdiff_t(student.row_stride()), teacher.data(),
            std::ptrdiff_t(teacher.row_stride()), rows, static_cast<int>(student.cols()),
            weight / Scalar(rows - 1), grad_student.data(),
            std::ptrdiff_t(grad_student.row_stride()), grad_teacher.data(),
            std::ptrdiff_t(grad_teacher.row_stride()), workspace_.row_losses(std::size_t(rows)));
    CCL_CUDA_CHECK_LAUNCH("correlation_rows_kernel");
    return Scalar(workspace_.sum_row_losses(rows) / double(rows - 1));
  }

 private:
  Options options_;
  gpu::baselines::BaselineWorkspace workspace_;
};

}  // namespace ccl::loss::baselines
