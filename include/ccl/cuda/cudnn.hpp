#pragma once
// cuDNN support of the CUDA backend: the status check behind CCL_CUDA_CHECK for cudnnStatus_t
// and an owning cuDNN handle. Only available when ccl::cuda was configured with cuDNN
// (CCL_CUDA_HAS_CUDNN); the convolution layers that use it build on this header.

#include <ccl/core/error.hpp>
#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <utility>

namespace ccl::gpu {

/// Throws ccl::error when a cuDNN call failed.
inline void check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw error(ccl::detail::concat("cuDNN call ", call, " failed: ", cudnnGetErrorString(status),
                                  " (status ", static_cast<int>(status), ") at ", file, ":", line));
}

class CudnnHandle {
 public:
  CudnnHandle() { CCL_CUDA_CHECK(cudnnCreate(&handle_)); }
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  CudnnHandle(CudnnHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  CudnnHandle& operator=(CudnnHandle&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  ~CudnnHandle() {
    if (handle_ != nullptr) (void)cudnnDestroy(handle_);
  }

  cudnnHandle_t get() const { return handle_; }
  void set_stream(cudaStream_t stream) { CCL_CUDA_CHECK(cudnnSetStream(handle_, stream)); }

 private:
  cudnnHandle_t handle_ = nullptr;
};

/// The cuDNN library version this program runs with, e.g. 91900 for 9.19.0.
inline std::size_t cudnn_version() { return cudnnGetVersion(); }

}  // namespace ccl::gpu
