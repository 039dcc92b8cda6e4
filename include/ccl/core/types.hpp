#pragma once
// Index and matrix aliases shared by every layer. Embeddings are row-major [B, D] because that
// is how every framework ccl interoperates with (PyTorch, LibTorch, ONNX Runtime, NumPy) lays out
// a batch, so a user's buffer can be viewed without a copy.

#include <Eigen/Core>

#include <type_traits>

namespace ccl {

using Index = Eigen::Index;

template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
inline constexpr bool is_supported_scalar_v =
    std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>;

#define CCL_STATIC_ASSERT_SCALAR(Scalar)                                                   \
  static_assert(::ccl::is_supported_scalar_v<Scalar>,                                     \
                "ccl: the scalar type must be float (training) or double (gradient checks)")

}  // namespace ccl
