#pragma once
// Stream: an owning, move-only CUDA stream. A component's ops run on the stream of its
// Execution<cuda> (the legacy default stream unless set_execution gives another); a Stream object
// is the usual way to provide one.

#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>

#include <utility>

namespace ccl::gpu {

class Stream {
 public:
  /// Non-blocking by default: it does not serialise with the legacy default stream.
  explicit Stream(unsigned flags = cudaStreamNonBlocking) {
    CCL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, flags));
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept {
    std::swap(stream_, other.stream_);
    return *this;
  }
  ~Stream() {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }

  cudaStream_t get() const { return stream_; }
  operator cudaStream_t() const { return stream_; }  // NOLINT(google-explicit-constructor)

  /// Blocks the host until all work queued on the stream has finished.
  void synchronize() const { CCL_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace ccl::gpu
