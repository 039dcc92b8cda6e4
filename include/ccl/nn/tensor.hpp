#pragma once
// Tensor<Scalar, Rank>: the owning, contiguous, C-order (row-major) array that carries activations
// between the layers of ccl::nn. The layouts are PyTorch's, so buffers can be exchanged with it
// without a permutation:
//
//   Rank 2  [N, D]             embeddings, the output of Flatten and global pooling
//   Rank 3  [N, C, L]          audio (waveform or log-mel frames), Conv1d
//   Rank 4  [N, C, H, W]       images, Conv2d
//   Rank 5  [N, C, T, H, W]    video clips, Conv3d
//
// The rank is a template parameter so that wiring a Conv2d into a Conv3d, or forgetting a Flatten
// before a Linear, is a compile error instead of a runtime surprise; the extents are runtime
// values checked by each layer with a ccl::error that names the layer and both shapes.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace ccl::nn {

template <int Rank>
using Shape = std::array<Index, static_cast<std::size_t>(Rank)>;

/// "[2, 3, 8, 8]": the form every nn error message uses.
template <std::size_t Rank>
std::string shape_string(const std::array<Index, Rank>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < Rank; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

/// The number of elements of a shape (1 for rank 0).
template <std::size_t Rank>
Index shape_size(const std::array<Index, Rank>& shape) {
  Index size = 1;
  for (Index extent : shape) size *= extent;
  return size;
}

/// A Shape whose every extent is `value` (a cubic kernel, a uniform stride).
template <int Rank>
Shape<Rank> uniform_shape(Index value) {
  Shape<Rank> shape{};
  shape.fill(value);
  return shape;
}

namespace detail {

/// The shape half of a tensor, the same on every backend: the extents and the PyTorch-layout
/// accessors that every layer's checks and messages use.
template <int Rank>
class TensorShape {
  static_assert(Rank >= 1 && Rank <= 5,
                "ccl::nn::Tensor: the rank must be 1 to 5 (layouts [N, D], [N, C, L], "
                "[N, C, H, W], [N, C, T, H, W])");

 public:
  using ShapeType = Shape<Rank>;

  const ShapeType& shape() const { return shape_; }
  Index dim(int axis) const { return shape_[static_cast<std::size_t>(axis)]; }
  Index size() const { return shape_size(shape_); }
  bool empty() const { return size() == 0; }
  std::string shape_string() const { return nn::shape_string(shape_); }

  /// N, the batch size (first axis).
  Index batch() const { return shape_[0]; }

  /// C, the channels (second axis); for [N, D] this is D.
  Index channels() const {
    static_assert(Rank >= 2, "ccl::nn::Tensor::channels: a rank-1 tensor has no channel axis");
    return shape_[1];
  }

  /// The spatial extents ([L], [H, W] or [T, H, W]): everything after N and C.
  Shape<Rank - 2> spatial() const {
    static_assert(Rank >= 2, "ccl::nn::Tensor::spatial: needs the layout [N, C, ...]");
    Shape<Rank - 2> extents{};
    for (int i = 0; i < Rank - 2; ++i) extents[std::size_t(i)] = shape_[std::size_t(i + 2)];
    return extents;
  }

  /// The number of spatial positions per channel (1 for [N, D]).
  Index spatial_size() const { return shape_size(spatial()); }

 protected:
  /// An empty shape: every extent is 0.
  TensorShape() { shape_.fill(0); }

  static const ShapeType& checked(const ShapeType& shape) {
    for (Index extent : shape)
      require(extent >= 0, "Tensor: negative extent in shape ", nn::shape_string(shape));
    return shape;
  }

  ShapeType shape_;
};

}  // namespace detail

// The Backend argument says where the elements live. This primary template is the host tensor;
// Tensor<Scalar, Rank, ccl::cuda> (device memory, same layout) is the specialisation in
// <ccl/cuda/nn/tensor.hpp>.
template <class Scalar, int Rank, class Backend = cpu>
class Tensor : public detail::TensorShape<Rank> {
  using Base = detail::TensorShape<Rank>;
  using Base::checked;
  using Base::shape_;

  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Tensor<Scalar, Rank, ccl::cuda> lives in <ccl/cuda/nn/tensor.hpp>; "
                "include it (or <ccl/cuda.hpp>) for device tensors");

 public:
  using ScalarType = Scalar;
  using ShapeType = Shape<Rank>;
  using FlatMap = Eigen::Map<Vector<Scalar>, Eigen::Aligned16>;
  using ConstFlatMap = Eigen::Map<const Vector<Scalar>, Eigen::Aligned16>;
  static constexpr int rank = Rank;

  /// An empty tensor: every extent is 0.
  Tensor() = default;

  /// A zero-filled tensor of the given shape.
  explicit Tensor(const ShapeType& shape) {
    shape_ = checked(shape);
    data_.setZero(shape_size(shape_));
  }

  /// A tensor of the given shape with every element equal to `value`.
  Tensor(const ShapeType& shape, Scalar value) {
    shape_ = checked(shape);
    data_.setConstant(shape_size(shape_), value);
  }

  /// A copy of `shape_size(shape)` contiguous elements at `data` (C order).
  Tensor(const ShapeType& shape, const Scalar* data) {
    shape_ = checked(shape);
    data_ = Eigen::Map<const Vector<Scalar>>(data, shape_size(shape_));
  }

  Scalar* data() { return data_.data(); }
  const Scalar* data() const { return data_.data(); }

  /// All elements as an Eigen vector (for element-wise arithmetic and reductions).
  FlatMap flat() { return FlatMap(data_.data(), data_.size()); }
  ConstFlatMap flat() const { return ConstFlatMap(data_.data(), data_.size()); }

  /// A rank-2 tensor as a row-major [N, D] Eigen matrix (what Linear and the losses consume).
  Eigen::Map<RowMatrix<Scalar>> matrix() {
    static_assert(Rank == 2,
                  "ccl::nn::Tensor::matrix: only an [N, D] tensor is a matrix; "
                  "Flatten or globally pool it first");
    return Eigen::Map<RowMatrix<Scalar>>(data_.data(), shape_[0], shape_[1]);
  }
  Eigen::Map<const RowMatrix<Scalar>> matrix() const {
    static_assert(Rank == 2,
                  "ccl::nn::Tensor::matrix: only an [N, D] tensor is a matrix; "
                  "Flatten or globally pool it first");
    return Eigen::Map<const RowMatrix<Scalar>>(data_.data(), shape_[0], shape_[1]);
  }

  /// An [N, D] tensor is a batch of embeddings: it converts to the view the losses, Linear and
  /// the pipeline take, without a copy.
  template <int R = Rank, std::enable_if_t<R == 2, int> = 0>
  operator EmbeddingView<const Scalar>() const {  // NOLINT(google-explicit-constructor)
    return EmbeddingView<const Scalar>(data_.data(), shape_[0], shape_[1]);
  }
  template <int R = Rank, std::enable_if_t<R == 2, int> = 0>
  EmbeddingView<Scalar> mutable_view() {
    return EmbeddingView<Scalar>(data_.data(), shape_[0], shape_[1]);
  }

  /// Element access by Rank indices, without bounds checks (tests and naive references).
  template <class... Indices>
  Scalar& operator()(Indices... indices) {
    return data_[offset(indices...)];
  }
  template <class... Indices>
  const Scalar& operator()(Indices... indices) const {
    return data_[offset(indices...)];
  }

  /// Changes the shape; the allocation is kept when the element count is unchanged, so a layer's
  /// output buffer costs nothing after the first batch. The contents are unspecified.
  void resize(const ShapeType& shape) {
    shape_ = checked(shape);
    data_.resize(shape_size(shape_));
  }

  void set_zero() { fill(Scalar(0)); }
  /// Every element = value (on ccl's threads: gradient buffers are tens of megabytes).
  void fill(Scalar value) {
    parallel_chunks(data_.size(), [&](Index first, Index last) {
      data_.segment(first, last - first).setConstant(value);
    });
  }
  /// Becomes a copy of `other` (shape and values) on ccl's threads, keeping this tensor's buffer
  /// when the sizes match.
  void assign(const Tensor& other) {
    if (&other == this) return;
    resize(other.shape());
    parallel_chunks(data_.size(), [&](Index first, Index last) {
      data_.segment(first, last - first) = other.data_.segment(first, last - first);
    });
  }

 private:
  template <class... Indices>
  Index offset(Indices... indices) const {
    static_assert(sizeof...(Indices) == std::size_t(Rank),
                  "ccl::nn::Tensor: give exactly one index per axis");
    static_assert((std::is_integral_v<Indices> && ...), "ccl::nn::Tensor: indices are integers");
    const Index list[] = {static_cast<Index>(indices)...};
    Index flat_index = 0;
    for (std::size_t axis = 0; axis < std::size_t(Rank); ++axis)
      flat_index = flat_index * shape_[axis] + list[axis];
    return flat_index;
  }

  Vector<Scalar> data_;
};

/// The activation of a layer with `SpatialRank` spatial axes: [N, C, spatial...].
template <class Scalar, int SpatialRank, class Backend = cpu>
using FeatureMap = Tensor<Scalar, SpatialRank + 2, Backend>;

template <class T>
struct is_tensor : std::false_type {};
template <class Scalar, int Rank, class Backend>
struct is_tensor<Tensor<Scalar, Rank, Backend>> : std::true_type {};
template <class T>
inline constexpr bool is_tensor_v = is_tensor<std::decay_t<T>>::value;

}  // namespace ccl::nn
