#pragma once
// gpu::RowLosses: one loss value per row in double on the device, and their sum brought back to
// the host (in double, in a fixed order: deterministic). The end of every CUDA loss whose kernel
// writes a value per row (cross-entropy, the symmetric KL, KD and the other baselines, RKD's
// angle term).

#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/reduce.cuh>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::gpu {

class RowLosses {
 public:
  /// A device array of `count` doubles for the kernel to write (kept across calls).
  double* data(std::size_t count) {
    rows_.resize(count);
    return rows_.data();
  }

  /// Σ of the first `count` row losses, in double; synchronises `stream`.
  double sum(int count, cudaStream_t stream) {
    total_.resize(1);
    kernels::sum_row_losses_kernel<><<<1, 256, 0, stream>>>(rows_.data(), count, total_.data());
    CCL_CUDA_CHECK_LAUNCH("sum_row_losses_kernel");
    double total = 0;
    CCL_CUDA_CHECK(
        cudaMemcpyAsync(&total, total_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return total;
  }

 private:
  DeviceBuffer<double> rows_, total_;
};

}  // namespace ccl::gpu
