#pragma once
// Row-wise operations on [B, D] device views that the device ops vocabulary and compositions are
// built from: sums and scaled accumulation, column blocks (the halves of a concatenation
// [x_t ; x_v] are strided views of it, EmbeddingView::middle_cols), and row L2 normalisation with
// PyTorch's F.normalize semantics and its backward pass (the one launch of the normalisation
// kernels, which the contrastive losses and the contrast memory call on their own buffers). The
// functions on views and device matrices check shapes, extents and that each view is device
// memory; all queue their kernel on the given stream (default: the legacy default stream) without
// synchronising. Kernels: kernels/rowwise.cuh, normalize.cuh.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/normalize_rows.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/normalize.cuh>
#include <ccl/cuda/kernels/rowwise.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/views.hpp>

#include <cstddef>

namespace ccl::gpu {

namespace detail {

inline std::ptrdiff_t stride(Index s) { return static_cast<std::ptrdiff_t>(s); }

}  // namespace detail

/// out = a + b (same shapes; out may be strided).
template <class Scalar>
void add(EmbeddingView<const Scalar, cuda> a, EmbeddingView<const Scalar, cuda> b,
         EmbeddingView<Scalar, cuda> out, cudaStream_t stream = nullptr) {
  constexpr const char* op = "gpu::add";
  ccl::checks::same_shape(op, "a", a, "b", b);
  ccl::checks::same_shape(op, "a", a, "out", out);
  if (a.empty()) return;
  require_int_shape(op, "a", a);
  require_device_memory(op, "a", a);
  require_device_memory(op, "b", b);
  require_device_memory(op, "out", out);
  const long long count = static_cast<long long>(a.rows()) * a.cols();
  gpu::launch_elementwise("add_rows_kernel", count, stream, kernels::add_rows_kernel<Scalar>,
                          a.data(), detail::stride(a.row_stride()), b.data(),
                          detail::stride(b.row_stride()), int(a.rows()), int(a.cols()), out.data(),
                          detail::stride(out.row_stride()));
}

/// out += alpha · x (same shapes).
template <class Scalar>
void accumulate(EmbeddingView<const Scalar, cuda> x, EmbeddingView<Scalar, cuda> out, Scalar alpha,
                cudaStream_t stream = nullptr) {
  constexpr const char* op = "gpu::accumulate";
  ccl::checks::same_shape(op, "x", x, "out", out);
  if (x.empty()) return;
  require_int_shape(op, "x", x);
  require_device_memory(op, "x", x);
  require_device_memory(op, "out", out);
  const long long count = static_cast<long long>(x.rows()) * x.cols();
  gpu::launch_elementwise("accumulate_rows_kernel", count, stream,
                          kernels::accumulate_rows_kernel<Scalar>, x.data(),
                          detail::stride(x.row_stride()), int(x.rows()), int(x.cols()), alpha,
                          out.data(), detail::stride(out.row_stride()));
}

/// out = [a ; b] column-wise: out is [B, Da + Db] (resized), two strided device copies.
template <class Scalar>
void concat_columns(EmbeddingView<const Scalar, cuda> a, EmbeddingView<const Scalar, cuda> b,
                    DeviceMatrix<Scalar>& out, cudaStream_t stream = nullptr) {
  ccl::checks::same_rows("gpu::concat_columns", "a", a, "b", b);
  out.resize(a.rows(), a.cols() + b.cols());
  gpu::copy<Scalar>(a, out.mutable_view().middle_cols(0, a.cols()), stream);
  gpu::copy<Scalar>(b, out.mutable_view().middle_cols(a.cols(), b.cols()), stream);
}

/// The row normalisation of every device op, F.normalize (core/normalize_rows.hpp): `unit`
/// (contiguous [B, D]) = x / max(‖x‖, eps) row by row and `norms` ([B]) the clamped norms, queued
/// on `stream`. The engines that keep their own buffers call this form; x is checked by them.
template <class Scalar>
void normalize_rows(EmbeddingView<const Scalar, cuda> x, Scalar* unit, Scalar* norms,
                    cudaStream_t stream) {
  if (x.rows() == 0) return;
  constexpr int rows_per_block = kernels::normalize_warps_per_block;
  kernels::normalize_rows_kernel<Scalar>
      <<<kernels::blocks_for(x.rows(), rows_per_block), 32 * rows_per_block, 0, stream>>>(
          x.data(), detail::stride(x.row_stride()), int(x.rows()), int(x.cols()),
          Scalar(ccl::detail::normalize_eps), unit, norms);
  CCL_CUDA_CHECK_LAUNCH("normalize_rows_kernel");
}

/// grad_x += weight · (∂x̂/∂x)ᵀ grad_unit, from normalize_rows' unit and norms; `unit` and
/// `grad_unit` contiguous [B, D] with B, D those of grad_x.
template <class Scalar>
void normalize_rows_backward(const Scalar* unit, const Scalar* norms, const Scalar* grad_unit,
                             Scalar weight, EmbeddingView<Scalar, cuda> grad_x,
                             cudaStream_t stream) {
  if (grad_x.rows() == 0) return;
  constexpr int rows_per_block = kernels::normalize_warps_per_block;
  kernels::normalize_rows_backward_kernel<Scalar>
      <<<kernels::blocks_for(grad_x.rows(), rows_per_block), 32 * rows_per_block, 0, stream>>>(
          unit, norms, grad_unit, int(grad_x.rows()), int(grad_x.cols()),
          Scalar(ccl::detail::normalize_eps), weight, grad_x.data(),
          detail::stride(grad_x.row_stride()));
  CCL_CUDA_CHECK_LAUNCH("normalize_rows_backward_kernel");
}

/// The checked form on device matrices: unit is resized to x's shape, norms to its rows.
template <class Scalar>
void normalize_rows(EmbeddingView<const Scalar, cuda> x, DeviceMatrix<Scalar>& unit,
                    DeviceBuffer<Scalar>& norms, cudaStream_t stream = nullptr) {
  constexpr const char* op = "gpu::normalize_rows";
  require_int_shape(op, "x", x);
  require_device_memory(op, "x", x);
  unit.resize(x.rows(), x.cols());
  norms.resize(static_cast<std::size_t>(x.rows()));
  normalize_rows<Scalar>(x, unit.data(), norms.data(), stream);
}

/// The checked backward form; grad_unit must be contiguous [B, D] (copy a column block into a
/// DeviceMatrix first).
template <class Scalar>
void normalize_rows_backward(const DeviceMatrix<Scalar>& unit, const DeviceBuffer<Scalar>& norms,
                             const DeviceMatrix<Scalar>& grad_unit, Scalar weight,
                             EmbeddingView<Scalar, cuda> grad_x, cudaStream_t stream = nullptr) {
  constexpr const char* op = "gpu::normalize_rows_backward";
  ccl::checks::same_shape(op, "unit", unit.view(), "grad_unit", grad_unit.view());
  ccl::checks::same_shape(op, "unit", unit.view(), "grad_x", grad_x);
  require(norms.size() == static_cast<std::size_t>(unit.rows()), op, ": ", norms.size(),
          " norms for ", unit.rows(), " rows");
  require_device_memory(op, "grad_x", grad_x);
  normalize_rows_backward<Scalar>(unit.data(), norms.data(), grad_unit.data(), weight, grad_x,
                                  stream);
}

}  // namespace ccl::gpu
