#pragma once
// Tensor<Scalar, Rank, ccl::cuda>: the device counterpart of ccl::nn::Tensor (nn/tensor.hpp), an
// owning, contiguous, C-order (row-major) array in device memory with the same PyTorch layouts
// ([N, D], [N, C, L], [N, C, H, W], [N, C, T, H, W]) and the same shape API, so a device layer's
// error messages and shape checks read exactly like the host ones.
//
// Element access and Eigen maps are deliberately absent: device memory is only touched by
// kernels, cuBLAS and cuDNN. Move data with gpu::to_device / gpu::to_host / gpu::copy.
//
// Host code: this header contains no kernels and compiles without nvcc.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/nn/tensor.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace ccl::nn {

template <class Scalar, int Rank>
class Tensor<Scalar, Rank, cuda> : public detail::TensorShape<Rank> {
  using Base = detail::TensorShape<Rank>;
  using Base::checked;
  using Base::shape_;

  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using ScalarType = Scalar;
  using ShapeType = Shape<Rank>;
  using BackendType = cuda;
  static constexpr int rank = Rank;

  /// An empty tensor: every extent is 0, no allocation.
  Tensor() = default;

  /// A zero-filled device tensor of the given shape. The zeroing is synchronous: a new tensor
  /// belongs to no stream yet, and its first reader may use any.
  explicit Tensor(const ShapeType& shape) {
    resize(shape);
    set_zero(nullptr);
    CCL_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;  // a device copy is explicit: gpu::copy
  Tensor& operator=(const Tensor&) = delete;

  /// Device pointers.
  Scalar* data() { return buffer_.data(); }
  const Scalar* data() const { return buffer_.data(); }

  /// An [N, D] device tensor is a batch of embeddings for the CUDA losses, Linear and the
  /// compositions: it converts to a zero-copy device view, like the host tensor to a host view.
  template <int R = Rank, std::enable_if_t<R == 2, int> = 0>
  operator EmbeddingView<const Scalar, cuda>() const {  // NOLINT(google-explicit-constructor)
    return view();
  }
  template <int R = Rank, std::enable_if_t<R == 2, int> = 0>
  EmbeddingView<const Scalar, cuda> view() const {
    return EmbeddingView<const Scalar, cuda>(buffer_.data(), shape_[0], shape_[1]);
  }
  template <int R = Rank, std::enable_if_t<R == 2, int> = 0>
  EmbeddingView<Scalar, cuda> mutable_view() {
    return EmbeddingView<Scalar, cuda>(buffer_.data(), shape_[0], shape_[1]);
  }

  /// Changes the shape; the allocation only grows (cudaMalloc synchronises the device), so a
  /// layer's output buffer costs nothing after the first batch. The contents are unspecified.
  void resize(const ShapeType& shape) {
    buffer_.resize(static_cast<std::size_t>(shape_size(checked(shape))));
    shape_ = shape;
  }

  /// Zero every element, asynchronously on `stream`.
  void set_zero(cudaStream_t stream) { buffer_.zero(stream); }

 private:
  gpu::DeviceBuffer<Scalar> buffer_;
};

/// A device activation with `SpatialRank` spatial axes: [N, C, spatial...].
template <class Scalar, int SpatialRank>
using DeviceFeatureMap = Tensor<Scalar, SpatialRank + 2, cuda>;

}  // namespace ccl::nn

namespace ccl::gpu {

/// Host -> device into `target` (resized to the source's shape), asynchronous on `stream`.
template <class Scalar, int Rank>
void copy(const nn::Tensor<Scalar, Rank, cpu>& source, nn::Tensor<Scalar, Rank, cuda>& target,
          cudaStream_t stream = nullptr) {
  target.resize(source.shape());
  if (source.empty()) return;
  CCL_CUDA_CHECK(cudaMemcpyAsync(target.data(), source.data(),
                                 static_cast<std::size_t>(source.size()) * sizeof(Scalar),
                                 cudaMemcpyHostToDevice, stream));
}

/// Device -> host into `target` (resized); returns when the data is on the host.
template <class Scalar, int Rank>
void copy(const nn::Tensor<Scalar, Rank, cuda>& source, nn::Tensor<Scalar, Rank, cpu>& target,
          cudaStream_t stream = nullptr) {
  target.resize(source.shape());
  if (!source.empty()) {
    CCL_CUDA_CHECK(cudaMemcpyAsync(target.data(), source.data(),
                                   static_cast<std::size_t>(source.size()) * sizeof(Scalar),
                                   cudaMemcpyDeviceToHost, stream));
  }
  CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

/// Device -> device into `target` (resized), asynchronous on `stream`.
template <class Scalar, int Rank>
void copy(const nn::Tensor<Scalar, Rank, cuda>& source, nn::Tensor<Scalar, Rank, cuda>& target,
          cudaStream_t stream = nullptr) {
  target.resize(source.shape());
  if (source.empty()) return;
  CCL_CUDA_CHECK(cudaMemcpyAsync(target.data(), source.data(),
                                 static_cast<std::size_t>(source.size()) * sizeof(Scalar),
                                 cudaMemcpyDeviceToDevice, stream));
}

/// A device copy of a host tensor: `auto x_dev = ccl::gpu::to_device(x);`.
template <class Scalar, int Rank>
nn::Tensor<Scalar, Rank, cuda> to_device(const nn::Tensor<Scalar, Rank, cpu>& source,
                                         cudaStream_t stream = nullptr) {
  nn::Tensor<Scalar, Rank, cuda> result;
  copy(source, result, stream);
  return result;
}

/// A host copy of a device tensor, synchronised.
template <class Scalar, int Rank>
nn::Tensor<Scalar, Rank, cpu> to_host(const nn::Tensor<Scalar, Rank, cuda>& source,
                                      cudaStream_t stream = nullptr) {
  nn::Tensor<Scalar, Rank, cpu> result;
  copy(source, result, stream);
  return result;
}

}  // namespace ccl::gpu
