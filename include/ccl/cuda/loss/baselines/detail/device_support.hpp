#pragma once
// Host glue shared by the CUDA baselines (ccl/cuda/loss/baselines/*.hpp): the device half of the
// baselines' check_pair (device memory, 32-bit extents, the NaN scan), a per-loss workspace
// (an execution context and the double reduction of row losses) and row-major cuBLAS GEMMs on
// strided operands (a user's view may be a column block of a wider matrix).

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution_context.hpp>
#include <ccl/cuda/row_losses.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::gpu::baselines {

/// One loss object's device resources, reused across calls: its execution context (stream,
/// TF32, cuBLAS handle, NaN-scan flag) and the double reduction of its row losses.
class BaselineWorkspace : public ExecutionContext {
 public:
  /// A device array of `count` doubles for per-row losses.
  double* row_losses(std::size_t count) { return row_losses_.data(count); }

  /// Σ of the first `count` row losses, in double; synchronises the stream.
  double sum_row_losses(int count) { return row_losses_.sum(count, stream()); }

 private:
  RowLosses row_losses_;
};

/// Row-major C[m, n] = alpha op(A) op(B) + beta C with explicit row strides: A is stored
/// [m, k] (or [k, m] when transpose_a) with rows lda apart, likewise B and C.
template <class Scalar>
void gemm_strided(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n, int k,
                  Scalar alpha, const Scalar* a, std::ptrdiff_t lda, const Scalar* b,
                  std::ptrdiff_t ldb, Scalar beta, Scalar* c, std::ptrdiff_t ldc) {
  // Row-major C = op(A) op(B)  <=>  column-major Cᵀ = op(B)ᵀ op(A)ᵀ: swap the operands.
  gemm(handle, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n,
       m, k, alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda), beta, c,
       static_cast<int>(ldc));
}

inline void gemm_batched(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b,
                         int m, int n, int k, float alpha, const float* a, int lda, long long sa,
                         const float* b, int ldb, long long sb, float beta, float* c, int ldc,
                         long long sc, int count) {
  CCL_CUDA_CHECK(cublasSgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, sa, b, ldb,
                                           sb, &beta, c, ldc, sc, count));
}
inline void gemm_batched(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b,
                         int m, int n, int k, double alpha, const double* a, int lda, long long sa,
                         const double* b, int ldb, long long sb, double beta, double* c, int ldc,
                         long long sc, int count) {
  CCL_CUDA_CHECK(cublasDgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, sa, b, ldb,
                                           sb, &beta, c, ldc, sc, count));
}

/// `count` row-major contiguous products C_c[m, n] = alpha op(A_c) op(B_c) + beta C_c, the
/// matrices of each operand stored back to back.
template <class Scalar>
void gemm_batched_row_major(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n,
                            int k, Scalar alpha, const Scalar* a, const Scalar* b, Scalar beta,
                            Scalar* c, int count) {
  const int lda = transpose_a ? m : k;
  const int ldb = transpose_b ? k : n;
  gemm_batched(handle, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
               transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alpha, b, ldb,
               static_cast<long long>(k) * n, a, lda, static_cast<long long>(m) * k, beta, c, n,
               static_cast<long long>(m) * n, count);
}

}  // namespace ccl::gpu::baselines

namespace ccl::loss::baselines::detail {

/// A CUDA baseline's per-object resources (stream, cuBLAS handle, NaN-scan scratch, row losses).
template <>
struct Workspace<cuda> : gpu::baselines::BaselineWorkspace {};

/// The device half of check_pair (pair_checks.hpp): device memory and the 32-bit limits, then
/// the NaN/Inf scan on the call's stream.
template <class Scalar>
void check_pair_memory_and_values(const char* op, const EmbeddingView<const Scalar, cuda>& student,
                                  const EmbeddingView<const Scalar, cuda>& teacher,
                                  const EmbeddingView<Scalar, cuda>& grad_student,
                                  const EmbeddingView<Scalar, cuda>& grad_teacher,
                                  bool check_finite, Workspace<cuda>& workspace) {
  gpu::require_int_shape(op, "student", student);
  gpu::require_int_shape(op, "teacher", teacher);
  gpu::require_device_memory(op, "student", student);
  gpu::require_device_memory(op, "teacher", teacher);
  gpu::require_device_memory(op, "grad_student", grad_student);
  gpu::require_device_memory(op, "grad_teacher", grad_teacher);
  if (check_finite) {
    gpu::checks::finite(op, "student", student, workspace.finite, workspace.stream());
    gpu::checks::finite(op, "teacher", teacher, workspace.finite, workspace.stream());
  }
}

}  // namespace ccl::loss::baselines::detail
