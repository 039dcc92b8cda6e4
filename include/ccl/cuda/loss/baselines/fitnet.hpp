#pragma once
// FitNet<Scalar, ccl::cuda>: the device version of ccl::loss::baselines::FitNet
// (ccl/loss/baselines/fitnet.hpp), L = (1/(B·D)) Σ (r(f_s) - f_t)², same interface on device
// views, same value and gradients. One block per row (kernels/baselines_rows.cuh).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/baselines_rows.cuh>
#include <ccl/cuda/loss/baselines/detail/device_support.hpp>
#include <ccl/loss/baselines/fitnet.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::loss::baselines {

template <class Scalar>
class FitNet<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::FitNet: the scalar type must be float or double");

 public:
  using Options = FitNetOptions;
  static constexpr double default_beta = 100.0;

  FitNet() = default;
  explicit FitNet(Options options) : options_(options) {}
  const Options& options() const { return options_; }
  Options& options() { return options_; }

  /// Returns L(r(f_s), f_t) and adds weight · dL/d· into the non-empty views. Labels are ignored.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> regressed,
                    EmbeddingView<const Scalar, cuda> teacher, LabelView /*labels*/, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_regressed,
                    EmbeddingView<Scalar, cuda> grad_teacher) {
    constexpr const char* op = "fitnet";
    const cudaStream_t stream = workspace_.begin();
    gpu::baselines::check_device_pair(op, regressed, teacher, grad_regressed, grad_teacher,
                                   detail::Widths::must_match, options_.check_finite, workspace_);
    const int rows = static_cast<int>(regressed.rows());
    const Scalar count = Scalar(regressed.rows() * regressed.cols());
    const Scalar scale = Scalar(2) * weight / count;
    gpu::kernels::baselines::fitnet_rows_kernel<Scalar>
        <<<rows, gpu::kernels::baselines::rows_threads, 0, stream>>>(
            regressed.data(), std::ptrdiff_t(regressed.row_stride()), teacher.data(),
            std::ptrdiff_t(teacher.row_stride()), static_cast<int>(regressed.cols()), scale,
            grad_regressed.data(), std::ptrdiff_t(grad_regressed.row_stride()),
            grad_teacher.data(), std::ptrdiff_t(grad_teacher.row_stride()),
            workspace_.row_losses(std::size_t(rows)));
    CCL_CUDA_CHECK_LAUNCH("fitnet_rows_kernel");
    return Scalar(workspace_.sum_row_losses(rows) / double(count));
  }

 private:
  Options options_;
  gpu::baselines::BaselineWorkspace workspace_;
};

}  // namespace ccl::loss::baselines
