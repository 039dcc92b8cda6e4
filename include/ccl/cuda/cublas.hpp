#pragma once
// CublasHandle: an owning, move-only cuBLAS handle, plus row-major GEMM helpers in the float and
// double flavours the losses need. cuBLAS is column-major; a row-major [r, c] matrix is the
// column-major [c, r] matrix with the same leading dimension, which is how the helpers map
// ccl's row-major operands onto cublas<t>gemm without copies.

#include <ccl/cuda/error.hpp>
#include <ccl/cuda/unique_handle.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

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

/// Column-major C = alpha op(A) op(B) + beta C, overloaded on the scalar type.
inline void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m,
                 int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  CCL_CUDA_CHECK(cublasSgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}
inline void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int m,
                 int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
                 double beta, double* c, int ldc) {
  CCL_CUDA_CHECK(cublasDgemm(handle, op_a, op_b, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));
}

/// Row-major, contiguous: C[m, n] = alpha op(A) op(B) + beta C, with op(A) [m, k], op(B) [k, n];
/// `transpose_a` means A is stored as [k, m], `transpose_b` that B is stored as [n, k].
template <class Scalar>
void gemm_row_major(cublasHandle_t handle, bool transpose_a, bool transpose_b, int m, int n, int k,
                    Scalar alpha, const Scalar* a, const Scalar* b, Scalar beta, Scalar* c) {
  // Row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T: swap the operands.
  const int lda = transpose_a ? m : k;
  const int ldb = transpose_b ? k : n;
  gemm(handle, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n,
       m, k, alpha, b, ldb, a, lda, beta, c, n);
}

}  // namespace ccl::gpu
