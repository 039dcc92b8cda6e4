#pragma once
// The CUDA side of <ccl/core/backend_matrix.hpp>: BackendMatrix<Scalar, ccl::cuda> is
// gpu::DeviceMatrix, with set_zero / add_scaled / assign and ccl::view / ccl::mutable_view
// overloads for it, so code written once over backend_matrix_t (the pipeline's gradient
// workspaces) runs on the device unchanged. Every operation is asynchronous on its execution's
// stream. The missing-teacher row operations of core/row_mask.hpp are forwarded here into
// namespace ccl as well, so that the same unqualified calls find the device versions
// (ccl/cuda/nn/rowwise_mask.hpp) by argument-dependent lookup.
//
// The compute vocabulary of core/backend_matrix.hpp (OpScratch, matmul, add_to_rows,
// add_column_sums, add_into, check_finite, require_backend_memory) is overloaded here for device
// views, so the layers and heads written once over it (nn::Linear, ...) run on the device.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/execution_context.hpp>
#include <ccl/cuda/kernels/rowwise.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/nn/rowwise_mask.hpp>
#include <ccl/cuda/views.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cstddef>
#include <vector>

namespace ccl {

template <class Scalar>
struct BackendMatrix<Scalar, cuda> {
  using type = gpu::DeviceMatrix<Scalar>;
};

/// The device scratch of the ops vocabulary: the component's execution, its cuBLAS handle and
/// the NaN scan's flag (cuda/execution_context.hpp).
template <class Scalar>
struct OpScratch<Scalar, cuda> : gpu::ExecutionContext {};

namespace gpu {

// These take a DeviceMatrix, whose namespace is ccl::gpu: argument-dependent lookup finds them
// there from generic code (e.g. `view(workspace)` inside ccl::pipeline), wherever this header
// is included.

template <class Scalar>
EmbeddingView<const Scalar, cuda> view(const DeviceMatrix<Scalar>& matrix) {
  return matrix.view();
}

template <class Scalar>
EmbeddingView<Scalar, cuda> mutable_view(DeviceMatrix<Scalar>& matrix) {
  return matrix.mutable_view();
}

template <class Scalar>
void set_zero(DeviceMatrix<Scalar>& matrix, Index rows, Index cols,
              const Execution<cuda>& execution) {
  matrix.resize(rows, cols);
  matrix.zero(execution.stream);
}

/// matrix = source, resized; the source is a device view or a host one (an upload).
template <class Scalar, class From>
void assign(DeviceMatrix<Scalar>& matrix, EmbeddingView<const Scalar, From> source,
            const Execution<cuda>& execution) {
  matrix.resize(source.rows(), source.cols());
  copy<Scalar>(source, matrix.mutable_view(), execution.stream);
}

/// Checkpoint hooks (io/checkpoint_sections.hpp): a device tensor is saved from a host copy and
/// restored by one upload. Checkpoints are rare and know no component's stream, so both wait for
/// the whole device first (every stream's writes are then visible) and copy synchronously.
template <class Scalar>
RowMatrix<Scalar> host_copy(const DeviceMatrix<Scalar>& value) {
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
  return to_host(value, nullptr);
}

template <class Scalar>
void restore_from_host(DeviceMatrix<Scalar>& target, RowMatrix<Scalar>& decoded) {
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
  target.resize(decoded.rows(), decoded.cols());
  copy<Scalar>(ccl::view(decoded), target.mutable_view(), nullptr);
  CCL_CUDA_CHECK(cudaDeviceSynchronize());  // `decoded` dies after the commit
}

template <class Scalar>
void restore_zeros(DeviceMatrix<Scalar>& matrix) {
  matrix.zero(nullptr);
  CCL_CUDA_CHECK(cudaDeviceSynchronize());
}

template <class Scalar>
void zero_elements(DeviceMatrix<Scalar>& matrix, const Execution<cuda>& execution) {
  matrix.zero(execution.stream);
}

}  // namespace gpu

// These take device views (namespace ccl).

template <class Scalar>
void add_scaled(EmbeddingView<Scalar, cuda> target, Scalar alpha,
                EmbeddingView<const Scalar, cuda> source, const Execution<cuda>& execution) {
  require(target.rows() == source.rows() && target.cols() == source.cols(),
          "add_scaled: target has shape ", target.shape(), ", source ", source.shape());
  if (alpha == Scalar(0) || target.empty()) return;
  gpu::accumulate<Scalar>(source, target, alpha, execution.stream);
}

template <class Scalar>
void copy_into(EmbeddingView<const Scalar, cuda> source, EmbeddingView<Scalar, cuda> target,
               const Execution<cuda>& execution) {
  gpu::copy<Scalar>(source, target, execution.stream);
}

template <class Scalar>
EmbeddingView<const Scalar, cpu> host_view(EmbeddingView<const Scalar, cuda> source,
                                           RowMatrix<Scalar>& scratch,
                                           const Execution<cuda>& execution) {
  scratch.resize(source.rows(), source.cols());
  gpu::copy<Scalar>(source, ccl::mutable_view(scratch), execution.stream);  // synchronises it
  return ccl::view(scratch);
}

template <class T>
std::vector<Index> available_rows(const EmbeddingView<T, cuda>& x,
                                  const Execution<cuda>& execution) {
  return gpu::available_rows(x, execution.stream);
}

template <class Scalar>
void gather_rows(EmbeddingView<const Scalar, cuda> source, const std::vector<Index>& rows,
                 EmbeddingView<Scalar, cuda> target, const Execution<cuda>& execution) {
  gpu::gather_rows<Scalar>(source, rows, target, execution.stream);
}

template <class Scalar>
void scatter_add_rows(EmbeddingView<const Scalar, cuda> compact, const std::vector<Index>& rows,
                      EmbeddingView<Scalar, cuda> target, const Execution<cuda>& execution) {
  gpu::scatter_add_rows<Scalar>(compact, rows, target, execution.stream);
}

/// cuBLAS product of row-major views. cuBLAS is column-major, and a row-major [r, c] view with
/// row stride s is the column-major [c, r] matrix with leading dimension s, so
/// out = op(a) op(b) is computed as outᵀ = op(b)ᵀ op(a)ᵀ without copying or transposing.
template <class Scalar>
void matmul(EmbeddingView<Scalar, cuda> out, EmbeddingView<const Scalar, cuda> a, Operand op_a,
            EmbeddingView<const Scalar, cuda> b, Operand op_b, Gemm mode,
            OpScratch<Scalar, cuda>& scratch) {
  const bool ta = op_a == Operand::transposed, tb = op_b == Operand::transposed;
  const Index m = ta ? a.cols() : a.rows(), k = ta ? a.rows() : a.cols();
  const Index n = tb ? b.rows() : b.cols();
  require((tb ? b.cols() : b.rows()) == k && out.rows() == m && out.cols() == n,
          "gpu::matmul: shapes do not chain: ", a.shape(), ta ? "ᵀ" : "", " x ", b.shape(),
          tb ? "ᵀ" : "", " -> ", out.shape());
  require(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && a.row_stride() <= INT_MAX &&
              b.row_stride() <= INT_MAX && out.row_stride() <= INT_MAX,
          "gpu::matmul: a product of [", m, ", ", k, "] x [", k, ", ", n,
          "] beyond the CUDA backend's 32-bit indices");
  if (m == 0 || n == 0) return;
  gpu::gemm_row_major(scratch.handle(), ta, tb, int(m), int(n), int(k), Scalar(1), a.data(),
                      a.row_stride(), b.data(), b.row_stride(),
                      mode == Gemm::accumulate ? Scalar(1) : Scalar(0), out.data(),
                      out.row_stride());
}

/// out[i, :] += row for every row i: the accumulate kernel reading the row with stride 0.
template <class Scalar>
void add_to_rows(EmbeddingView<Scalar, cuda> out, EmbeddingView<const Scalar, cuda> row,
                 const Execution<cuda>& execution) {
  if (out.empty()) return;
  const long long count = static_cast<long long>(out.rows()) * out.cols();
  gpu::launch_elementwise("accumulate_rows_kernel", count, execution.stream,
                          gpu::kernels::accumulate_rows_kernel<Scalar>, row.data(), 0,
                          int(out.rows()), int(out.cols()), Scalar(1), out.data(),
                          static_cast<std::ptrdiff_t>(out.row_stride()));
}

/// sums[0, j] += Σ_i x[i, j], deterministic (kernels/rowwise.cuh).
template <class Scalar>
void add_column_sums(EmbeddingView<Scalar, cuda> sums, EmbeddingView<const Scalar, cuda> x,
                     const Execution<cuda>& execution) {
  if (x.empty()) return;
  const int cols = int(x.cols());
  const dim3 block(gpu::kernels::column_sum_columns, gpu::kernels::column_sum_lanes);
  const int blocks =
      (cols + gpu::kernels::column_sum_columns - 1) / gpu::kernels::column_sum_columns;
  gpu::kernels::column_sums_add_kernel<Scalar><<<blocks, block, 0, execution.stream>>>(
      x.data(), static_cast<std::ptrdiff_t>(x.row_stride()), int(x.rows()), cols, sums.data());
  CCL_CUDA_CHECK_LAUNCH("column_sums_add_kernel");
}

template <class Scalar>
void add_into(EmbeddingView<Scalar, cuda> out, EmbeddingView<const Scalar, cuda> a,
              EmbeddingView<const Scalar, cuda> b, const Execution<cuda>& execution) {
  gpu::add<Scalar>(a, b, out, execution.stream);
}

/// The device NaN/Inf scan (reads one flag back: synchronises the execution's stream).
template <class T>
void check_finite(const char* op, const char* name, const EmbeddingView<T, cuda>& v,
                  OpScratch<std::remove_const_t<T>, cuda>& scratch) {
  gpu::checks::finite(op, name, v, scratch.finite, scratch.execution.stream);
}

/// Device memory, and extents within the kernels' 32-bit indices.
template <class T>
void require_backend_memory(const char* op, const char* name, const EmbeddingView<T, cuda>& v) {
  gpu::require_int_shape(op, name, v);
  gpu::require_device_memory(op, name, v);
}

/// The device scan of check_finite, returning the first flat index (or -1) instead of throwing.
template <class T>
Index first_non_finite(const EmbeddingView<T, cuda>& v,
                       OpScratch<std::remove_const_t<T>, cuda>& scratch) {
  return gpu::checks::first_non_finite(v, scratch.finite, scratch.execution.stream);
}

/// target = To(double(source) · scale) on the device (one elementwise kernel).
template <class From, class To>
void convert_into(EmbeddingView<const From, cuda> source, EmbeddingView<To, cuda> target,
                  double scale, const Execution<cuda>& execution) {
  constexpr const char* op = "convert_into";
  require(target.rows() == source.rows() && target.cols() == source.cols(), op,
          ": target has shape ", target.shape(), ", source ", source.shape());
  if (source.empty()) return;
  require_backend_memory(op, "source", source);
  require_backend_memory(op, "target", target);
  const long long count = static_cast<long long>(source.rows()) * source.cols();
  gpu::launch_elementwise(
      "convert_rows_kernel", count, execution.stream, gpu::kernels::convert_rows_kernel<From, To>,
      source.data(), gpu::detail::stride(source.row_stride()), int(source.rows()),
      int(source.cols()), scale, target.data(), gpu::detail::stride(target.row_stride()));
}

/// Host -> device (asynchronous; the host data may be reused at once) and device -> host
/// (returns when the data is on the host).
template <class Scalar>
void copy_from_host(EmbeddingView<const Scalar, cpu> source, EmbeddingView<Scalar, cuda> target,
                    const Execution<cuda>& execution) {
  gpu::copy<Scalar>(source, target, execution.stream);
}
template <class Scalar>
void copy_to_host(EmbeddingView<const Scalar, cuda> source, EmbeddingView<Scalar, cpu> target,
                  const Execution<cuda>& execution) {
  gpu::copy<Scalar>(source, target, execution.stream);
}

}  // namespace ccl
