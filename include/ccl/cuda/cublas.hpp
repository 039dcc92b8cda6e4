#pragma once
// CublasHandle: an owning, move-only cuBLAS handle, plus the GEMMs of the device ops and losses
// (plain and strided-batched, with their row-major forms) for float and double. cuBLAS is
// column-major; a row-major [r, c] matrix is the column-major [c, r] matrix with the same leading
// dimension, which is how the helpers map ccl's row-major operands onto cuBLAS without copies.

#include <ccl/cuda/error.hpp>
#include <ccl/cuda/unique_handle.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <type_traits>

namespace ccl::gpu {

class CublasHandle : public UniqueHandle<cublasHandle_t, cublasDestroy> {
 public:
  CublasHandle() { CCL_CUDA_CHECK(cublasCreate(slot())); }

  void set_stream(cudaStream_t stream) { CCL_CUDA_CHECK(cublasSetStream(get(), stream)); }

  /// TF32 tensor cores for fp32 GEMMs (about 10 mantissa bits per product) or strict fp32.
  void set_tf32(bool allow) {
    CCL_CUDA_CHECK(
        cublasSetMathMode(get(), allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
};

/// Column-major C = alpha op(A) op(B) + beta C: cublasSgemm or cublasDgemm.
template <class Scalar>
void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m, int n,
          int k, Scalar alpha, const Scalar* a, int lda, const Scalar* b, int ldb, Scalar beta,
          Scalar* c, int ldc) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "ccl::gpu::gemm: float or double");
  if constexpr (std::is_same_v<Scalar, float>)
    CCL_CUDA_CHECK(cublasSgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
  else
    CCL_CUDA_CHECK(cublasDgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}

/// `count` column-major products C_i = alpha op(A_i) op(B_i) + beta C_i, operand i at
/// a + i·sa (likewise b, c): cublas<S|D>gemmStridedBatched.
template <class Scalar>
void gemm_batched(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m,
                  int n, int k, Scalar alpha, const Scalar* a, int lda, long long sa,
                  const Scalar* b, int ldb, long long sb, Scalar beta, Scalar* c, int ldc,
                  long long sc, int count) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "ccl::gpu::gemm_batched: float or double");
  if constexpr (std::is_same_v<Scalar, float>)
    CCL_CUDA_CHECK(cublasSgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, sa, b,
                                             ldb, sb, &beta, c, ldc, sc, count));
  else
    CCL_CUDA_CHECK(cublasDgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, sa, b,
                                             ldb, sb, &beta, c, ldc, sc, count));
}

/// Row-major C[m, n] = alpha op(A) op(B) + beta C with op(A) [m, k], op(B) [k, n]; `transpose_a`
/// means A is stored as [k, m], `transpose_b` that B is stored as [n, k]. lda, ldb, ldc are the
/// row strides of the stored matrices (a view may be a column block of a wider matrix).
template <class Scalar>
void gemm_row_major(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n, int k,
                    Scalar alpha, const Scalar* a, std::ptrdiff_t lda, const Scalar* b,
                    std::ptrdiff_t ldb, Scalar beta, Scalar* c, std::ptrdiff_t ldc) {
  // Row-major C = op(A) op(B)  <=>  column-major Cᵀ = op(B)ᵀ op(A)ᵀ: swap the operands.
  gemm(handle, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n,
       m, k, alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda), beta, c,
       static_cast<int>(ldc));
}

/// The contiguous case: every row stride is the stored width.
template <class Scalar>
void gemm_row_major(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n, int k,
                    Scalar alpha, const Scalar* a, const Scalar* b, Scalar beta, Scalar* c) {
  gemm_row_major(handle, transpose_a, transpose_b, m, n, k, alpha, a, transpose_a ? m : k, b,
                 transpose_b ? k : n, beta, c, n);
}

/// `count` contiguous row-major products C_i[m, n] = alpha op(A_i) op(B_i) + beta C_i, the
/// matrices of each operand stored back to back.
template <class Scalar>
void gemm_batched_row_major(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n,
                            int k, Scalar alpha, const Scalar* a, const Scalar* b, Scalar beta,
                            Scalar* c, int count) {
  gemm_batched(handle, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
               transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alpha, b, transpose_b ? k : n,
               static_cast<long long>(k) * n, a, transpose_a ? m : k, static_cast<long long>(m) * k,
               beta, c, n, static_cast<long long>(m) * n, count);
}

}  // namespace ccl::gpu
