#pragma once
// DeviceBuffer<T>: an owning, move-only array in device memory (cudaMalloc / cudaFree).
// Workspaces only grow: reserve() keeps the allocation when it is already large enough, because
// cudaMalloc and cudaFree synchronise the device and would dominate a loss call.

#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace ccl::gpu {

template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "ccl::gpu::DeviceBuffer<T>: T must be trivially copyable (it is moved by memcpy)");

 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) {
    reserve(count);
    size_ = count;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~DeviceBuffer() {
    // A destructor cannot throw; a failed cudaFree here means the context is already broken and
    // the next checked call will report it.
    if (data_ != nullptr) (void)cudaFree(data_);
  }

  /// Makes room for `count` elements; the contents are discarded when it has to reallocate.
  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    DeviceBuffer fresh;
    CCL_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&fresh.data_), count * sizeof(T)));
    fresh.capacity_ = count;
    swap(fresh);
  }

  /// Sets the size to `count` (growing the allocation if needed, contents unspecified).
  void resize(std::size_t count) {
    reserve(count);
    size_ = count;
  }

  /// Sets every byte of the first size() elements to zero, asynchronously on `stream`.
  void zero(cudaStream_t stream = nullptr) {
    if (size_ > 0) CCL_CUDA_CHECK(cudaMemsetAsync(data_, 0, size_ * sizeof(T), stream));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ccl::gpu
