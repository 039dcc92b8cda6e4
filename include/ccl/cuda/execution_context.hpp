#pragma once
// gpu::ExecutionContext: what a device component needs to queue its work, held once per
// component: its execution (cuda/execution.hpp: stream, TF32, contrastive algorithm), a cuBLAS
// handle bound to that execution, and the flag of the NaN/Inf scan. The ops vocabulary's scratch
// (OpScratch<Scalar, ccl::cuda>), the baselines' workspace and the contrastive row engine are
// built on it.

#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/execution.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <optional>

namespace ccl::gpu {

struct ExecutionContext {
  Execution<cuda> execution;                // the owner's stream, TF32 and algorithm
  DeviceBuffer<unsigned long long> finite;  // the NaN scan's first-index flag (gpu::checks)

  void set_execution(const Execution<cuda>& e) { rebind_execution(execution, e); }
  cudaStream_t stream() const { return execution.stream; }

  /// The cuBLAS handle, created on first use (cublasCreate is not free, and objects must be
  /// constructible without a device) and bound to the execution on each call, so that a
  /// set_execution between calls takes effect at once. TF32 only affects fp32 GEMMs.
  cublasHandle_t handle() {
    if (!cublas_) cublas_.emplace();
    cublas_->set_stream(execution.stream);
    cublas_->set_tf32(execution.allow_tf32);
    return cublas_->get();
  }

 private:
  std::optional<CublasHandle> cublas_;
};

}  // namespace ccl::gpu
