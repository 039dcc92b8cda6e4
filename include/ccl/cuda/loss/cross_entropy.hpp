#pragma once
// The CUDA backend of softmax cross-entropy: specialises
// Implementation<loss::ops::CrossEntropy<Scalar>, ccl::cuda>, so that
// loss::CrossEntropy<float, ccl::cuda> takes device logits and returns the CPU backend's value and
// gradient (ccl/loss/cross_entropy.hpp). Labels stay on the host and are checked there (range,
// count) before being uploaded. Host glue only; the kernel is kernels/cross_entropy.cuh.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/cross_entropy.cuh>
#include <ccl/cuda/kernels/reduce.cuh>
#include <ccl/cuda/loss/pair_loss.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/cross_entropy.hpp>

#include <cuda_runtime_api.h>

#include <climits>
#include <cstddef>
#include <vector>

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::CrossEntropy<Scalar>, cuda> {
  /// Returns L and adds weight * dL/dz into grad_logits (skipped when it is empty).
  Scalar run(EmbeddingView<const Scalar, cuda> logits, LabelView labels,
             const loss::CrossEntropyOptions& options, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_logits) {
    constexpr const char* op = "cross_entropy";
    require(logits.rows() > 0, op, ": empty batch (logits has shape ", logits.shape(), ")");
    require(logits.cols() > 0, op, ": logits has no classes (shape ", logits.shape(), ")");
    checks::gradient_shape(op, "logits", logits, "grad_logits", grad_logits);
    checks::labels_match(op, logits.rows(), labels);
    checks::labels_in_range(op, labels, logits.cols());
    require(logits.rows() <= INT_MAX && logits.cols() <= INT_MAX, op, ": shape ", logits.shape(),
            " exceeds the CUDA backend's 32-bit row and column indices");
    gpu::require_device_memory(op, "logits", logits);
    gpu::require_device_memory(op, "grad_logits", grad_logits);
    const cudaStream_t stream = gpu::settings().stream;
    if (options.check_finite) gpu::checks::finite(op, "logits", logits, finite_scratch_, stream);

    const int batch = static_cast<int>(logits.rows());
    labels_host_.resize(std::size_t(batch));
    for (int i = 0; i < batch; ++i) labels_host_[std::size_t(i)] = static_cast<int>(labels[i]);
    labels_.resize(std::size_t(batch));
    CCL_CUDA_CHECK(cudaMemcpyAsync(labels_.data(), labels_host_.data(), sizeof(int) * batch,
                                   cudaMemcpyHostToDevice, stream));
    row_loss_.resize(std::size_t(batch));
    total_.resize(1);
    gpu::kernels::cross_entropy_kernel<Scalar>
        <<<batch, gpu::kernels::cross_entropy_threads, 0, stream>>>(
            logits.data(), static_cast<std::ptrdiff_t>(logits.row_stride()),
            static_cast<int>(logits.cols()), labels_.data(), weight / Scalar(batch),
            grad_logits.data(), static_cast<std::ptrdiff_t>(grad_logits.row_stride()),
            row_loss_.data());
    CCL_CUDA_CHECK_LAUNCH("cross_entropy_kernel");
    gpu::kernels::sum_row_losses_kernel<>
        <<<1, 256, 0, stream>>>(row_loss_.data(), batch, total_.data());
    CCL_CUDA_CHECK_LAUNCH("sum_row_losses_kernel");
    double total = 0;
    CCL_CUDA_CHECK(
        cudaMemcpyAsync(&total, total_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return Scalar(total / double(batch));
  }

 private:
  std::vector<int> labels_host_;
  gpu::DeviceBuffer<int> labels_;
  gpu::DeviceBuffer<double> row_loss_, total_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
};

}  // namespace ccl
