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
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/cross_entropy.cuh>
#include <ccl/cuda/loss/pair_loss.hpp>
#include <ccl/cuda/row_losses.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/cross_entropy.hpp>

#include <cuda_runtime_api.h>

#include <climits>
#include <cstddef>
#include <vector>

namespace ccl {

template <class Scalar>
struct Implementation<loss::ops::CrossEntropy<Scalar>, cuda> {
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  /// Returns L and adds weight * dL/dz into grad_logits (skipped when it is empty).
  Scalar run(EmbeddingView<const Scalar, cuda> logits, LabelView labels, Scalar weight,
             EmbeddingView<Scalar, cuda> grad_logits) {
    // The arguments were checked by CrossEntropy::accumulate (shapes, labels, device memory,
    // 32-bit extents, NaN/Inf).
    const cudaStream_t stream = execution_.stream;
    const int batch = static_cast<int>(logits.rows());
    labels_host_.resize(std::size_t(batch));
    for (int i = 0; i < batch; ++i) labels_host_[std::size_t(i)] = static_cast<int>(labels[i]);
    labels_.resize(std::size_t(batch));
    CCL_CUDA_CHECK(cudaMemcpyAsync(labels_.data(), labels_host_.data(), sizeof(int) * batch,
                                   cudaMemcpyHostToDevice, stream));
    gpu::kernels::cross_entropy_kernel<Scalar>
        <<<batch, gpu::kernels::cross_entropy_threads, 0, stream>>>(
            logits.data(), static_cast<std::ptrdiff_t>(logits.row_stride()),
            static_cast<int>(logits.cols()), labels_.data(), weight / Scalar(batch),
            grad_logits.data(), static_cast<std::ptrdiff_t>(grad_logits.row_stride()),
            row_losses_.data(std::size_t(batch)));
    CCL_CUDA_CHECK_LAUNCH("cross_entropy_kernel");
    const double total = row_losses_.sum(batch, stream);
    return Scalar(total / double(batch));
  }

 private:
  std::vector<int> labels_host_;
  gpu::DeviceBuffer<int> labels_;
  gpu::RowLosses row_losses_;
  Execution<cuda> execution_;
};

}  // namespace ccl
