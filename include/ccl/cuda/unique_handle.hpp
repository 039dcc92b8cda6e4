#pragma once
// UniqueHandle<Handle, Destroy>: the one owning, move-only wrapper behind every create/destroy
// pair of the CUDA libraries (streams, events, cuBLAS and cuDNN handles, cuDNN descriptors), so
// that each wrapper says only how its handle is created and what it adds. Eigen-free.

#include <utility>

namespace ccl::gpu {

/// Owns a library handle and releases it with `Destroy` (whose status is ignored: a destructor
/// cannot throw, and a failed release means the context is already broken, which the next
/// checked call reports).
template <class Handle, auto Destroy>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  ~UniqueHandle() {
    if (handle_ != nullptr) (void)Destroy(handle_);
  }

  Handle get() const { return handle_; }

 protected:
  /// Where a derived constructor's create call writes the new handle.
  Handle* slot() { return &handle_; }

 private:
  Handle handle_ = nullptr;
};

}  // namespace ccl::gpu
