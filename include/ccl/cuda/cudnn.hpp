#pragma once
// cuDNN support of the CUDA backend: the status check behind CCL_CUDA_CHECK for cudnnStatus_t,
// an owning cuDNN handle, RAII descriptors, and the per-thread context (handle + workspace) the
// device layers of ccl::nn share. Only available when ccl::cuda was configured with cuDNN
// (CCL_CUDA_HAS_CUDNN); the convolution and batch-norm layers build on this header.
//
// The layers use cuDNN's "legacy" descriptor API (cudnnConvolutionForward & co.), which cuDNN 9
// still ships in libcudnn_cnn / libcudnn_ops and only marks deprecated when CUDNN_WARN_DEPRECATED
// is defined.

#include <ccl/core/error.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/unique_handle.hpp>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <array>
#include <climits>
#include <cstddef>
#include <optional>
#include <type_traits>

namespace ccl::gpu {

/// Throws ccl::error when a cuDNN call failed.
inline void check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw error(ccl::detail::concat("cuDNN call ", call, " failed: ", cudnnGetErrorString(status),
                                  " (status ", static_cast<int>(status), ") at ", file, ":", line));
}

class CudnnHandle : public UniqueHandle<cudnnHandle_t, cudnnDestroy> {
 public:
  CudnnHandle() { CCL_CUDA_CHECK(cudnnCreate(slot())); }

  void set_stream(cudaStream_t stream) { CCL_CUDA_CHECK(cudnnSetStream(get(), stream)); }
};

/// The cuDNN library version this program runs with, e.g. 91900 for 9.19.0.
inline std::size_t cudnn_version() { return cudnnGetVersion(); }

/// cuDNN's data type for a ccl scalar (the layers' tensors, filters and BN parameters).
template <class Scalar>
constexpr cudnnDataType_t cudnn_data_type() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "ccl::gpu::cudnn_data_type: the device layers support float and double");
  return std::is_same_v<Scalar, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

/// cuDNN takes its alpha/beta blend factors as double for double data, float otherwise.
template <class Scalar>
struct CudnnFactors {
  Scalar zero = 0;
  Scalar one = 1;
};

/// A dimension for cuDNN's int-based descriptors; throws instead of wrapping around.
inline int cudnn_dim(long long extent, const char* op) {
  require(extent >= 0 && extent <= INT_MAX, op, ": extent ", extent,
          " exceeds cuDNN's 32-bit descriptor dimensions");
  return static_cast<int>(extent);
}

namespace detail {
// Every cudnnCreateX / cudnnDestroyX pair.
template <class Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class CudnnDescriptor : public UniqueHandle<Handle, Destroy> {
 public:
  CudnnDescriptor() { CCL_CUDA_CHECK(Create(this->slot())); }
};
}  // namespace detail

/// A fully packed NCHW / NCDHW tensor descriptor ([N, C, ...] in C order, 4 or 5 dimensions).
class TensorDescriptor
    : public detail::CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                                     cudnnDestroyTensorDescriptor> {
 public:
  template <std::size_t N>
  void set(cudnnDataType_t type, const std::array<int, N>& dims) {
    static_assert(N >= 4 && N <= 5,
                  "ccl::gpu::TensorDescriptor: cuDNN tensors here have 4 or 5 "
                  "dimensions ([N, C, H, W] or [N, C, D, H, W])");
    std::array<int, N> strides{};
    int stride = 1;
    for (std::size_t i = N; i-- > 0;) {
      strides[i] = stride;
      stride *= dims[i];
    }
    CCL_CUDA_CHECK(cudnnSetTensorNdDescriptor(get(), type, int(N), dims.data(), strides.data()));
  }
};

/// A filter [Cout, Cin, k...] in cuDNN's NCHW format: PyTorch's (and ccl's) weight order.
class FilterDescriptor
    : public detail::CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                                     cudnnDestroyFilterDescriptor> {
 public:
  template <std::size_t N>
  void set(cudnnDataType_t type, const std::array<int, N>& dims) {
    CCL_CUDA_CHECK(cudnnSetFilterNdDescriptor(get(), type, CUDNN_TENSOR_NCHW, int(N), dims.data()));
  }
};

/// A cross-correlation (PyTorch's convolution) with per-axis padding, stride and dilation.
class ConvolutionDescriptor
    : public detail::CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                                     cudnnDestroyConvolutionDescriptor> {
 public:
  template <std::size_t N>
  void set(const std::array<int, N>& padding, const std::array<int, N>& stride,
           const std::array<int, N>& dilation, cudnnDataType_t compute_type) {
    CCL_CUDA_CHECK(cudnnSetConvolutionNdDescriptor(get(), int(N), padding.data(), stride.data(),
                                                   dilation.data(), CUDNN_CROSS_CORRELATION,
                                                   compute_type));
  }
  void set_math(cudnnMathType_t math) { CCL_CUDA_CHECK(cudnnSetConvolutionMathType(get(), math)); }
};

/// The per-thread cuDNN state of the device layers: one handle (cudnnCreate costs milliseconds
/// and memory, too much per layer) and one growing workspace shared by every layer of the thread.
/// Sharing the workspace is safe because a thread queues its layers in order on one stream; when
/// a layer asks for it on another stream than the previous user, the previous stream is
/// synchronised first.
class CudnnContext {
 public:
  /// The thread's handle, bound to `stream`.
  cudnnHandle_t handle(cudaStream_t stream) {
    if (!handle_) handle_.emplace();
    if (!stream_bound_ || stream != stream_) {
      handle_->set_stream(stream);
      stream_ = stream;
      stream_bound_ = true;
    }
    return handle_->get();
  }

  /// At least `bytes` of device workspace for work queued on `stream` (nullptr when 0).
  void* workspace(std::size_t bytes, cudaStream_t stream) {
    if (workspace_used_ && stream != workspace_stream_)
      CCL_CUDA_CHECK(cudaStreamSynchronize(workspace_stream_));
    workspace_used_ = true;
    workspace_stream_ = stream;
    if (bytes == 0) return nullptr;
    workspace_.reserve(bytes);  // cudaMalloc/cudaFree synchronise: the old buffer is idle
    return workspace_.data();
  }

 private:
  std::optional<CudnnHandle> handle_;
  cudaStream_t stream_ = nullptr;
  bool stream_bound_ = false;
  DeviceBuffer<unsigned char> workspace_;
  cudaStream_t workspace_stream_ = nullptr;
  bool workspace_used_ = false;
};

/// The calling thread's cuDNN context. thread_local objects are destroyed before the CUDA
/// runtime's own exit handlers run, so the handle and workspace are released cleanly.
inline CudnnContext& cudnn_context() {
  thread_local CudnnContext context;
  return context;
}

}  // namespace ccl::gpu
