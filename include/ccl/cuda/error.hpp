#pragma once
// Every CUDA runtime and cuBLAS status becomes a ccl::error that names the failing call, the
// status's name and text, and where it was made, so a failure reads like
//   "ccl: CUDA call cudaMalloc(&data, bytes) failed: cudaErrorMemoryAllocation (out of memory)".
// CCL_CUDA_CHECK(call) works for every status type ccl uses; the cuDNN overload of check() lives
// in <ccl/cuda/cudnn.hpp> so that translation units without cuDNN never need its header.

#include <ccl/core/error.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace ccl::gpu {

/// Throws ccl::error when a CUDA runtime call failed.
inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw error(ccl::detail::concat("CUDA call ", call, " failed: ", cudaGetErrorName(status), " (",
                                  cudaGetErrorString(status), ") at ", file, ":", line));
}

/// Throws ccl::error when a cuBLAS call failed.
inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw error(ccl::detail::concat("cuBLAS call ", call, " failed: ", cublasGetStatusName(status),
                                  " (", cublasGetStatusString(status), ") at ", file, ":", line));
}

}  // namespace ccl::gpu

/// Evaluates a CUDA / cuBLAS / cuDNN call once and throws ccl::error naming it if it failed.
/// A macro only so that the message can quote the call and its source location.
#define CCL_CUDA_CHECK(call) ::ccl::gpu::check((call), #call, __FILE__, __LINE__)

/// After a kernel launch: reports launch errors (bad configuration, no device) as ccl::error.
#define CCL_CUDA_CHECK_LAUNCH(kernel_name) \
  ::ccl::gpu::check(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)
