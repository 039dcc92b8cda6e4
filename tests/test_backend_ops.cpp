// The host versions of the backend ops that data-parallel code is written once over
// (core/backend_matrix.hpp): column blocks of a view, the converting copy of the gradient buckets,
// the first non-finite element, and the host staging copies. Their CUDA overloads are compared
// with these in tests/cuda/test_cuda_basics.cu.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using ccl::Index;
using ccl::RowMatrix;

TEST_CASE("middle_cols views a column block and rejects columns outside the view", "[ops]") {
  RowMatrix<float> m(3, 5);
  for (Index k = 0; k < m.size(); ++k) m.data()[k] = float(k);
  const auto block = ccl::mutable_view(m).middle_cols(1, 3);
  CHECK(block.data() == m.data() + 1);
  CHECK(block.rows() == 3);
  CHECK(block.cols() == 3);
  CHECK(block.row_stride() == 5);
  CHECK_FALSE(block.contiguous());
  CHECK(block.middle_rows(2, 1).contiguous());  // one row is one block
  CHECK(ccl::view(m).contiguous());
  CHECK(block.matrix()(2, 0) == 11.0f);
  CHECK_THROWS_WITH(ccl::view(m).middle_cols(3, 3),
                    Catch::Contains("EmbeddingView: columns [3, 6) of a view of shape [3, 5]"));
  CHECK_THROWS_WITH(ccl::view(m).middle_cols(-1, 2), Catch::Contains("columns [-1, 1)"));
}

TEST_CASE("convert_into rounds To(double(x) * scale) element by element, strided views too",
          "[ops]") {
  RowMatrix<float> source(2, 4);
  source << 1.5f, -2.25f, 3.0f, 1e-8f,  //
      0.1f, 7.0f, -0.5f, 3.0e38f;
  RowMatrix<double> wide = RowMatrix<double>::Zero(2, 6);
  ccl::convert_into(ccl::view(source), ccl::mutable_view(wide).middle_cols(1, 4));
  for (Index i = 0; i < 2; ++i) {
    CHECK(wide(i, 0) == 0.0);
    CHECK(wide(i, 5) == 0.0);
    for (Index j = 0; j < 4; ++j) CHECK(wide(i, 1 + j) == double(source(i, j)));
  }
  RowMatrix<float> back(2, 4);
  ccl::convert_into(ccl::view(wide).middle_cols(1, 4), ccl::mutable_view(back), 0.5);
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 4; ++j) CHECK(back(i, j) == float(double(source(i, j)) * 0.5));
  // Double sums that overflow float become inf, as a cast does (caught by the caller's checks).
  ccl::convert_into(ccl::view(wide).middle_cols(1, 4), ccl::mutable_view(back), 4.0);
  CHECK(std::isinf(back(1, 3)));
  CHECK_THROWS_WITH(ccl::convert_into(ccl::view(source), ccl::mutable_view(wide)),
                    Catch::Contains("convert_into: target has shape [2, 6], source [2, 4]"));
}

TEST_CASE("first_non_finite returns the first flat index of a NaN or Inf, or -1", "[ops]") {
  RowMatrix<double> m = RowMatrix<double>::Ones(3, 4);
  ccl::OpScratch<double, ccl::cpu> scratch;
  CHECK(ccl::first_non_finite(ccl::view(m), scratch) == -1);
  m(2, 1) = std::numeric_limits<double>::infinity();
  m(1, 3) = std::nan("");
  CHECK(ccl::first_non_finite(ccl::view(m), scratch) == 1 * 4 + 3);
  // Flat indices count the view's own columns, not the stride.
  CHECK(ccl::first_non_finite(ccl::view(m).middle_cols(1, 2), scratch) == 2 * 2 + 0);
  CHECK(ccl::first_non_finite(ccl::view(m).middle_rows(0, 1), scratch) == -1);
}

TEST_CASE("copy_from_host and copy_to_host copy between same-shaped host views", "[ops]") {
  RowMatrix<float> a(2, 3), b = RowMatrix<float>::Zero(2, 5);
  a << 1, 2, 3, 4, 5, 6;
  ccl::copy_from_host(ccl::view(a), ccl::mutable_view(b).middle_cols(2, 3));
  CHECK(b(1, 4) == 6.0f);
  CHECK(b(1, 1) == 0.0f);
  RowMatrix<float> c = RowMatrix<float>::Zero(2, 3);
  ccl::copy_to_host(ccl::view(b).middle_cols(2, 3), ccl::mutable_view(c));
  CHECK(c == a);
  CHECK_THROWS_WITH(ccl::copy_to_host(ccl::view(b), ccl::mutable_view(c)),
                    Catch::Contains("copy_into: target has shape [2, 3], source [2, 5]"));
}
