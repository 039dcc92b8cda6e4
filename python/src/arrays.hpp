#pragma once
// How arrays cross the boundary. Inputs arrive through DLPack (or the buffer protocol) as
// nb::ndarray and are read in place: nothing converts them, so a wrong dtype, layout or device is
// a TypeError from nanobind instead of a silent copy. Outputs are arrays that ccl allocated; they
// are returned as nanobind's framework-neutral ndarray (the nb::array_api tag, nanobind 2.10.1 or
// newer), which exports __dlpack__ and the buffer protocol, so NumPy (np.asarray), PyTorch
// (torch.utils.dlpack.from_dlpack), JAX and CuPy take them over without a copy and free them
// through the capsule when the last reference goes.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace ccl_python {

namespace nb = nanobind;

/// A read-only, C-contiguous [rows, cols] matrix in host memory.
template <class Scalar>
using InMatrix = nb::ndarray<const Scalar, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
/// A read-only, contiguous vector in host memory (a bias).
template <class Scalar>
using InVector = nb::ndarray<const Scalar, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
/// Class labels: int64, one per row.
using InLabels = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

/// An array ccl allocated, handed to Python without a framework (see the file comment).
template <class Scalar>
using OutArray = nb::ndarray<nb::array_api, Scalar, nb::device::cpu>;

template <class Scalar>
ccl::EmbeddingView<const Scalar> view_of(const InMatrix<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

/// A bias vector as the [1, n] row ccl's layers take.
template <class Scalar>
ccl::EmbeddingView<const Scalar> row_view_of(const InVector<Scalar>& v) {
  return {v.data(), 1, static_cast<ccl::Index>(v.shape(0))};
}

inline ccl::LabelView labels_of(const InLabels& labels) {
  return {labels.data(), static_cast<ccl::Index>(labels.shape(0))};
}

/// A zero-filled [rows, cols] array for ccl to accumulate a gradient into.
template <class Scalar>
OutArray<Scalar> zeros(std::size_t rows, std::size_t cols) {
  auto* data = new Scalar[rows * cols]();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<Scalar*>(p); });
  return OutArray<Scalar>(data, {rows, cols}, owner);
}

template <class Scalar>
ccl::EmbeddingView<Scalar> mutable_view_of(OutArray<Scalar>& m) {
  return {m.data(), static_cast<ccl::Index>(m.shape(0)), static_cast<ccl::Index>(m.shape(1))};
}

/// Hands an Eigen matrix that ccl filled to Python by moving its heap buffer (no element copy).
/// `as_vector` flattens a [1, n] bias to the [n] shape of torch.nn.Linear.
template <class Scalar>
OutArray<Scalar> adopt(ccl::RowMatrix<Scalar>&& matrix, bool as_vector = false) {
  auto* owned = new ccl::RowMatrix<Scalar>(std::move(matrix));
  nb::capsule owner(owned,
                    [](void* p) noexcept { delete static_cast<ccl::RowMatrix<Scalar>*>(p); });
  const auto rows = static_cast<std::size_t>(owned->rows());
  const auto cols = static_cast<std::size_t>(owned->cols());
  if (as_vector) return OutArray<Scalar>(owned->data(), {rows * cols}, owner);
  return OutArray<Scalar>(owned->data(), {rows, cols}, owner);
}

}  // namespace ccl_python
