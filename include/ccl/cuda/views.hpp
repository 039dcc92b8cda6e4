#pragma once
// Zero-copy views of embeddings that already live on the device (a PyTorch CUDA tensor's
// data_ptr(), a buffer from another library): EmbeddingView<T, ccl::cuda> over a raw pointer,
// and the checks every CUDA op runs first: that the pointer really is device-accessible memory
// (a host pointer would otherwise surface as an illegal-address fault far from the call), and
// that the extents fit the kernels' 32-bit indices.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>

#include <cuda_runtime_api.h>

#include <climits>

namespace ccl::gpu {

/// Read-only view of `rows` x `cols` device elements, consecutive rows `row_stride` apart.
template <class T>
EmbeddingView<const T, cuda> device_view(const T* data, Index rows, Index cols,
                                         Index row_stride = -1) {
  return EmbeddingView<const T, cuda>(data, rows, cols, row_stride);
}

/// Writable view (gradient outputs) of device memory.
template <class T>
EmbeddingView<T, cuda> mutable_device_view(T* data, Index rows, Index cols, Index row_stride = -1) {
  return EmbeddingView<T, cuda>(data, rows, cols, row_stride);
}

/// True when the GPU can dereference `pointer`: device, managed, or mapped pinned host memory.
inline bool is_device_accessible(const void* pointer) {
  cudaPointerAttributes attributes{};
  const cudaError_t status = cudaPointerGetAttributes(&attributes, pointer);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // not a pointer CUDA knows; clear the error it leaves behind
    return false;
  }
  switch (attributes.type) {
    case cudaMemoryTypeDevice:
    case cudaMemoryTypeManaged:
      return true;
    case cudaMemoryTypeHost:
      return attributes.devicePointer != nullptr;
    default:
      return false;  // cudaMemoryTypeUnregistered: ordinary pageable host memory
  }
}

/// Throws ccl::error naming the op and argument when a non-empty view is not device memory.
template <class T>
void require_device_memory(const char* op, const char* name, const EmbeddingView<T, cuda>& view) {
  if (view.data() == nullptr || view.empty()) return;
  require(is_device_accessible(view.data()), op, ": ", name, " (shape ", view.shape(),
          ") points to host memory, but a ccl::cuda view must point to device memory; copy it "
          "with ccl::gpu::to_device or call the op with the ccl::cpu backend");
}

/// Throws ccl::error when a view's extents exceed the kernels' 32-bit row and column indices.
template <class T>
void require_int_shape(const char* op, const char* name, const EmbeddingView<T, cuda>& view) {
  require(view.rows() <= INT_MAX && view.cols() <= INT_MAX, op, ": ", name, " has shape ",
          view.shape(), ", beyond the CUDA backend's 32-bit row and column indices");
}

}  // namespace ccl::gpu
