#pragma once
// ccl::gemm: the one single-threaded matrix product every CPU layer and loss of ccl calls.
//
//   ccl::gemm(c, ccl::gemm_arg(a), ccl::gemm_arg_transposed(b), ccl::Gemm::overwrite);  // C = A·Bᵀ
//
// Why not `c.noalias() = a * b.transpose()`: when the translation unit is compiled with OpenMP,
// Eigen parallelises such a product by itself, outside ccl's thread count and with a team that
// busy-waits at a barrier on every k-block. On a shared or small machine that turned one
// R(2+1)D step from 55 ms into seconds (docs/performance.md). ccl threads its own loops instead
// (ccl::parallel_gemm in parallel_gemm.hpp splits one product over the team); each piece runs
// here, always on the calling thread. The kernel is Eigen's own blocked GEMM (the routine behind
// `noalias() =`, called without Eigen's parallel driver), so it runs at Eigen's speed.
//
// With CCL_USE_CBLAS defined (CMake option CCL_BLAS, which links a CBLAS such as OpenBLAS) the
// same call goes to cblas_sgemm / cblas_dgemm. The BLAS must then run single-threaded inside
// ccl's threads (OpenBLAS's OpenMP or serial build, or OPENBLAS_NUM_THREADS=1): docs/performance.md
// says when the option pays.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <limits>
#include <type_traits>
#include <utility>

#if defined(CCL_USE_CBLAS)
#include <cblas.h>
#endif

namespace ccl {

/// Whether a product replaces the destination or adds to it (BLAS's beta = 0 or 1).
enum class Gemm : bool { overwrite = false, accumulate = true };

/// A read-only operand of ccl::gemm: `rows x cols` as the product sees it, stored row-major with
/// leading dimension `ld`, either as is or (transposed = true) as its transpose, i.e. a stored
/// row-major [cols, rows] matrix.
template <class Scalar>
struct GemmArg {
  const Scalar* data;
  Index rows;
  Index cols;
  Index ld;
  bool transposed;

  /// The block of rows [first, first + count) of the operand as the product sees it.
  GemmArg middle_rows(Index first, Index count) const {
    return transposed ? GemmArg{data + first, count, cols, ld, true}
                      : GemmArg{data + first * ld, count, cols, ld, false};
  }
  /// The block of columns [first, first + count) of the operand as the product sees it.
  GemmArg middle_cols(Index first, Index count) const {
    return transposed ? GemmArg{data + first * ld, rows, count, ld, true}
                      : GemmArg{data + first, rows, count, ld, false};
  }
};

namespace detail {
template <class Matrix>
void check_row_major_operand() {
  using Plain = std::decay_t<Matrix>;
  static_assert(bool(Plain::Flags & Eigen::RowMajorBit),
                "ccl::gemm: operands are row-major matrices, maps or blocks with contiguous rows "
                "(ccl::RowMatrix and its Eigen::Map / middleRows / middleCols); use "
                "gemm_arg_transposed for a transpose");
  static_assert(
      Plain::InnerStrideAtCompileTime == 1 || Plain::InnerStrideAtCompileTime == Eigen::Dynamic,
      "ccl::gemm: the elements of a row must be contiguous");
}
}  // namespace detail

/// The row-major matrix `m` (a RowMatrix, a Map or a block of one) as a gemm operand.
template <class Matrix>
auto gemm_arg(const Eigen::DenseBase<Matrix>& m) {
  detail::check_row_major_operand<Matrix>();
  using Scalar = typename Matrix::Scalar;
  const auto& d = m.derived();
  require(d.innerStride() == 1, "ccl::gemm: the elements of a row must be contiguous");
  return GemmArg<Scalar>{d.data(), d.rows(), d.cols(), d.outerStride(), false};
}

/// The transpose of the row-major matrix `m` as a gemm operand (no copy).
template <class Matrix>
auto gemm_arg_transposed(const Eigen::DenseBase<Matrix>& m) {
  auto arg = gemm_arg(m);
  std::swap(arg.rows, arg.cols);
  arg.transposed = true;
  return arg;
}

namespace detail {

template <class Scalar, int LhsOrder, int RhsOrder>
void eigen_gemm_kernel(Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                       const Scalar* b, Index ldb, Scalar* c, Index ldc) {
  using namespace Eigen;
  using Blocking =
      internal::gemm_blocking_space<RowMajor, Scalar, Scalar, Dynamic, Dynamic, Dynamic>;
  Blocking blocking(m, n, k, 1, true);
  // info = nullptr: Eigen's sequential path, whatever Eigen::nbThreads() says.
  internal::general_matrix_matrix_product<Index, Scalar, LhsOrder, false, Scalar, RhsOrder, false,
                                          RowMajor, 1>::run(m, n, k, a, lda, b, ldb, c, 1, ldc,
                                                            alpha, blocking, nullptr);
}

}  // namespace detail

/// C = alpha·A·B (Gemm::overwrite) or C += alpha·A·B (Gemm::accumulate) on the calling thread
/// only. C is a writable row-major matrix, map or block of one ([A.rows, B.cols]); it must not
/// overlap A or B.
template <class Destination, class Scalar>
void gemm(Eigen::DenseBase<Destination>& c_base, const GemmArg<Scalar>& a, const GemmArg<Scalar>& b,
          Gemm mode, Scalar alpha = Scalar(1)) {
  detail::check_row_major_operand<Destination>();
  static_assert(std::is_same_v<typename Destination::Scalar, Scalar>,
                "ccl::gemm: the destination and the operands must have one scalar type");
  auto& c = c_base.derived();
  require(a.cols == b.rows && c.rows() == a.rows && c.cols() == b.cols,
          "ccl::gemm: shapes do not chain: [", a.rows, ", ", a.cols, "] x [", b.rows, ", ", b.cols,
          "] -> [", c.rows(), ", ", c.cols(), "]");
  const Index m = a.rows, n = b.cols, k = a.cols;
  if (m == 0 || n == 0) return;
  Scalar* const out = c.data();
  const Index ldc = c.outerStride();
#if defined(CCL_USE_CBLAS)
  constexpr Index int_max = std::numeric_limits<int>::max();
  require(m <= int_max && n <= int_max && k <= int_max && a.ld <= int_max && b.ld <= int_max &&
              ldc <= int_max,
          "ccl::gemm: a product of [", m, ", ", k, "] x [", k, ", ", n,
          "] exceeds the CBLAS interface's int extents");
  const auto ta = a.transposed ? CblasTrans : CblasNoTrans;
  const auto tb = b.transposed ? CblasTrans : CblasNoTrans;
  const Scalar beta = mode == Gemm::accumulate ? Scalar(1) : Scalar(0);
  // BLAS reads no operand when k = 0 but still scales C by beta, as wanted.
  if constexpr (std::is_same_v<Scalar, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a.data, int(a.ld), b.data,
                int(b.ld), beta, out, int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a.data, int(a.ld), b.data,
                int(b.ld), beta, out, int(ldc));
  }
#else
  if (mode == Gemm::overwrite) c.setZero();
  if (k == 0) return;
  using Eigen::ColMajor;
  using Eigen::RowMajor;
  // A stored transposed is a column-major [m, k] matrix with the same leading dimension.
  if (!a.transposed && !b.transposed)
    detail::eigen_gemm_kernel<Scalar, RowMajor, RowMajor>(m, n, k, alpha, a.data, a.ld, b.data,
                                                          b.ld, out, ldc);
  else if (!a.transposed)
    detail::eigen_gemm_kernel<Scalar, RowMajor, ColMajor>(m, n, k, alpha, a.data, a.ld, b.data,
                                                          b.ld, out, ldc);
  else if (!b.transposed)
    detail::eigen_gemm_kernel<Scalar, ColMajor, RowMajor>(m, n, k, alpha, a.data, a.ld, b.data,
                                                          b.ld, out, ldc);
  else
    detail::eigen_gemm_kernel<Scalar, ColMajor, ColMajor>(m, n, k, alpha, a.data, a.ld, b.data,
                                                          b.ld, out, ldc);
#endif
}

/// gemm into an rvalue destination (an Eigen::Map or a block expression).
template <class Destination, class Scalar>
void gemm(Eigen::DenseBase<Destination>&& c, const GemmArg<Scalar>& a, const GemmArg<Scalar>& b,
          Gemm mode, Scalar alpha = Scalar(1)) {
  gemm(c, a, b, mode, alpha);
}

}  // namespace ccl
