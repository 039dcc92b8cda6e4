#pragma once
// DeviceMatrix<T>: an owned row-major [rows, cols] batch of embeddings in device memory, the
// device counterpart of ccl::RowMatrix<T>. Pass view() / mutable_view() to any op called with
// the ccl::cuda backend.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>

#include <cstddef>
#include <string>

namespace ccl::gpu {

template <class T>
class DeviceMatrix {
  CCL_STATIC_ASSERT_SCALAR(T);

 public:
  using Scalar = T;  // as Eigen matrices name it, so generic code reads the element type alike

  DeviceMatrix() = default;
  DeviceMatrix(Index rows, Index cols) { resize(rows, cols); }

  /// Reshapes to [rows, cols]; contents are unspecified afterwards (use zero()).
  void resize(Index rows, Index cols) {
    require(rows >= 0 && cols >= 0, "DeviceMatrix: negative shape [", rows, ", ", cols, "]");
    buffer_.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    rows_ = rows;
    cols_ = cols;
  }

  void zero(cudaStream_t stream = nullptr) { buffer_.zero(stream); }

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  T* data() { return buffer_.data(); }
  const T* data() const { return buffer_.data(); }
  std::string shape() const { return ccl::detail::concat("[", rows_, ", ", cols_, "]"); }

  EmbeddingView<const T, cuda> view() const {
    return EmbeddingView<const T, cuda>(buffer_.data(), rows_, cols_);
  }
  /// Like a host RowMatrix to a host view: a device matrix converts to a read-only device view
  /// wherever one is expected (an encoder's forward result, a loss argument).
  operator EmbeddingView<const T, cuda>() const {  // NOLINT(google-explicit-constructor)
    return view();
  }
  EmbeddingView<T, cuda> mutable_view() {
    return EmbeddingView<T, cuda>(buffer_.data(), rows_, cols_);
  }

 private:
  DeviceBuffer<T> buffer_;
  Index rows_ = 0;
  Index cols_ = 0;
};

}  // namespace ccl::gpu
