#pragma once
// Stream and Event: an owning, move-only CUDA stream and event. A component's ops run on the
// stream of its Execution<cuda> (the legacy default stream unless set_execution gives another); a
// Stream object is the usual way to provide one.

#include <ccl/cuda/error.hpp>
#include <ccl/cuda/unique_handle.hpp>

#include <cuda_runtime_api.h>

namespace ccl::gpu {

class Stream : public UniqueHandle<cudaStream_t, cudaStreamDestroy> {
 public:
  /// Non-blocking by default: it does not serialise with the legacy default stream.
  explicit Stream(unsigned flags = cudaStreamNonBlocking) {
    CCL_CUDA_CHECK(cudaStreamCreateWithFlags(slot(), flags));
  }

  operator cudaStream_t() const { return get(); }  // NOLINT(google-explicit-constructor)

  /// Blocks the host until all work queued on the stream has finished.
  void synchronize() const { CCL_CUDA_CHECK(cudaStreamSynchronize(get())); }
};

/// An owning CUDA event: ordering between streams (record on one, wait on another) and timing.
class Event : public UniqueHandle<cudaEvent_t, cudaEventDestroy> {
 public:
  /// Without timing by default, the cheaper kind for ordering; Event(cudaEventDefault) times.
  explicit Event(unsigned flags = cudaEventDisableTiming) {
    CCL_CUDA_CHECK(cudaEventCreateWithFlags(slot(), flags));
  }

  /// Marks the point reached by the work queued so far on `stream`.
  void record(cudaStream_t stream) { CCL_CUDA_CHECK(cudaEventRecord(get(), stream)); }
  /// Makes `stream` wait (on the device; the host does not block) for the recorded work.
  void wait_on(cudaStream_t stream) const { CCL_CUDA_CHECK(cudaStreamWaitEvent(stream, get(), 0)); }
  /// Blocks the host until the recorded work has finished.
  void synchronize() const { CCL_CUDA_CHECK(cudaEventSynchronize(get())); }

  /// Milliseconds between two recorded timing events (both created with cudaEventDefault).
  static double elapsed_ms(const Event& start, const Event& stop) {
    float ms = 0;
    CCL_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    return double(ms);
  }
};

}  // namespace ccl::gpu
