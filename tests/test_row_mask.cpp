// Missing teacher rows (method.md §2.5): available_rows, gather/scatter, and a masked audio
// branch (Residual + Distill<MultiClassNce>) that equals the same branch on the subset, with zero
// gradient for the masked rows.

#include <ccl/compose/residual.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/multiclass_nce.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using Catch::Matchers::Contains;

TEST_CASE("available_rows finds the rows that are not all zero", "[row_mask]") {
  RowMatrix<double> x(6, 3);
  x << 1, 2, 3,       //
      0, 0, 0,        // missing
      0, 0, 1e-30,    // tiny but present
      1, -1, 0,       // sums to zero but is not zero: present
      -0.0, 0, 0,     // negative zero is zero
      0, std::numeric_limits<double>::quiet_NaN(), 0;  // NaN is present, caught downstream
  CHECK(ccl::available_rows(x) == std::vector<Index>{0, 2, 3, 5});
  CHECK(ccl::available_rows(ccl::view(x)) == std::vector<Index>{0, 2, 3, 5});

  // A strided view (rows of a wider matrix) is read in place.
  RowMatrix<float> wide = RowMatrix<float>::Zero(3, 5);
  wide(2, 4) = 1;  // outside the viewed columns
  wide(1, 0) = 2;
  const ccl::EmbeddingView<const float> left(wide.data(), 3, 2, 5);
  CHECK(ccl::available_rows(left) == std::vector<Index>{1});

  const RowMatrix<double> empty(0, 4);
  CHECK(ccl::available_rows(empty).empty());
  CHECK(ccl::available_rows(RowMatrix<double>::Zero(3, 2).eval()).empty());
}

TEST_CASE("gather_rows and scatter_add_rows are adjoint", "[row_mask]") {
  ccl::Rng rng(1);
  RowMatrix<double> x(5, 3);
  rng.fill_uniform(x, -1, 1);
  const std::vector<Index> rows = {0, 3, 4};

  const RowMatrix<double> g = ccl::gather_rows(x, rows);
  REQUIRE(g.rows() == 3);
  CHECK(g.row(1) == x.row(3));
  CHECK(g.row(2) == x.row(4));

  // <gather(x), y> = <x, scatter(y)> for every y: scatter-add is the gradient of gather.
  RowMatrix<double> y(3, 3);
  rng.fill_uniform(y, -1, 1);
  RowMatrix<double> s = RowMatrix<double>::Zero(5, 3);
  ccl::scatter_add_rows(ccl::view(y), rows, ccl::mutable_view(s));
  CHECK((g.array() * y.array()).sum() == Approx((x.array() * s.array()).sum()).epsilon(1e-14));
  CHECK(s.row(1).isZero());
  CHECK(s.row(2).isZero());

  // scatter adds, it does not overwrite.
  RowMatrix<double> ones = RowMatrix<double>::Ones(5, 3);
  ccl::scatter_add_rows(ccl::view(y), rows, ccl::mutable_view(ones));
  CHECK(ones.row(3) == (y.row(1).array() + 1).matrix());
  CHECK(ones.row(1) == RowMatrix<double>::Ones(1, 3));

  // Into a caller-provided buffer.
  RowMatrix<double> target(3, 3);
  ccl::gather_rows(ccl::view(x), rows, ccl::mutable_view(target));
  CHECK(target == g);

  const std::vector<std::int32_t> labels = {4, 5, 6, 7, 8};
  CHECK(ccl::gather_labels(labels, rows) == std::vector<std::int64_t>{4, 7, 8});
}

TEST_CASE("row_mask rejects bad indices and shapes", "[row_mask][errors]") {
  const RowMatrix<double> x = RowMatrix<double>::Ones(4, 2);
  REQUIRE_THROWS_WITH(ccl::gather_rows(x, {0, 4}),
                      Contains("gather_rows: row index 4 (entry 1) is outside a batch of 4"));
  REQUIRE_THROWS_WITH(ccl::gather_rows(x, {-1}), Contains("row index -1"));
  RowMatrix<double> target(1, 2);
  REQUIRE_THROWS_WITH(ccl::gather_rows(ccl::view(x), {0, 1}, ccl::mutable_view(target)),
                      Contains("target has shape [1, 2], expected [2, 2]"));
  RowMatrix<double> full = RowMatrix<double>::Zero(4, 2);
  const RowMatrix<double> compact = RowMatrix<double>::Ones(2, 3);
  REQUIRE_THROWS_WITH(ccl::scatter_add_rows(ccl::view(compact), {0, 1}, ccl::mutable_view(full)),
                      Contains("compact has shape [2, 3], expected [2, 2]"));
  REQUIRE_THROWS_WITH(ccl::scatter_add_rows(ccl::view(compact), {0, 9}, ccl::mutable_view(full)),
                      Contains("scatter_add_rows: row index 9"));
  const std::vector<std::int64_t> labels = {1, 2};
  REQUIRE_THROWS_WITH(ccl::gather_labels(labels, {2}), Contains("gather_labels: row index 2"));
}

TEST_CASE("A masked audio branch equals the branch on the subset", "[row_mask][compose]") {
  // The subset: 4 samples whose audio exists. The full batch inserts two samples with missing
  // (all-zero) audio at rows 1 and 4, as the loader delivers them.
  using Nce = ccl::loss::MultiClassNce<double>;
  ccl::Rng rng(77);
  const Index dim = 5;
  RowMatrix<double> sub_a(4, dim), sub_v(4, dim);
  rng.fill_uniform(sub_a, 0, 1);  // PANNs embeddings are post-ReLU, >= 0
  rng.fill_uniform(sub_v, -1, 1);
  const std::vector<std::int64_t> sub_y = {0, 1, 0, 2};

  RowMatrix<double> full_a = RowMatrix<double>::Zero(6, dim);
  RowMatrix<double> full_v(6, dim);
  rng.fill_uniform(full_v, -1, 1);
  const std::vector<Index> kept = {0, 2, 3, 5};
  for (std::size_t k = 0; k < kept.size(); ++k) {
    full_a.row(kept[k]) = sub_a.row(Index(k));
    full_v.row(kept[k]) = sub_v.row(Index(k));
  }
  const std::vector<std::int64_t> full_y = {0, 2, 1, 0, 1, 2};

  ccl::Rng init(5);
  ccl::compose::Residual<double> reference_head(dim, dim, 3, init);
  ccl::compose::Residual<double> masked_head = reference_head;
  ccl::loss::Distill<Nce, double> distill(Nce(0.5), 0.5);

  // Reference: the branch computed directly on the subset.
  const auto ref_out = reference_head.forward(ccl::view(sub_a), ccl::view(sub_v));
  RowMatrix<double> ref_grad_v = RowMatrix<double>::Zero(4, dim);
  RowMatrix<double> ref_grad_tv = RowMatrix<double>::Zero(4, dim);
  const double ref_value = distill.accumulate(
      ccl::view(sub_v), ccl::view(sub_a), ref_out.composed, sub_y, 1.0,
      ccl::mutable_view(ref_grad_v), {}, ccl::mutable_view(ref_grad_tv));
  reference_head.backward(ccl::view(ref_grad_tv), {}, ccl::mutable_view(ref_grad_v));

  // Masked: find the rows, gather, run the branch, scatter the student gradient back.
  const std::vector<Index> rows = ccl::available_rows(full_a);
  REQUIRE(rows == kept);
  const RowMatrix<double> a = ccl::gather_rows(full_a, rows);
  const RowMatrix<double> v = ccl::gather_rows(full_v, rows);
  const std::vector<std::int64_t> y = ccl::gather_labels(full_y, rows);
  CHECK(y == sub_y);
  const auto out = masked_head.forward(ccl::view(a), ccl::view(v));
  RowMatrix<double> grad_v = RowMatrix<double>::Zero(4, dim);
  RowMatrix<double> grad_tv = RowMatrix<double>::Zero(4, dim);
  const double value =
      distill.accumulate(ccl::view(v), ccl::view(a), out.composed, y, 1.0,
                         ccl::mutable_view(grad_v), {}, ccl::mutable_view(grad_tv));
  masked_head.backward(ccl::view(grad_tv), {}, ccl::mutable_view(grad_v));
  RowMatrix<double> full_grad_v = RowMatrix<double>::Zero(6, dim);
  ccl::scatter_add_rows(ccl::view(grad_v), rows, ccl::mutable_view(full_grad_v));

  CHECK(value == ref_value);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    CHECK((full_grad_v.row(kept[k]) - ref_grad_v.row(Index(k))).cwiseAbs().maxCoeff() == 0);
  }
  CHECK(full_grad_v.row(1).isZero(0));
  CHECK(full_grad_v.row(4).isZero(0));
  CHECK((masked_head.residual().weight().grad - reference_head.residual().weight().grad)
            .cwiseAbs()
            .maxCoeff() == 0);

  // Without the mask the zero rows would still act as negatives (and as anchors), so the loss
  // differs: this is why the branch must be gathered, not merely zero-weighted.
  ccl::compose::Residual<double> unmasked_head = reference_head;
  const auto full_out = unmasked_head.forward(ccl::view(full_a), ccl::view(full_v));
  const double unmasked = distill(ccl::view(full_v), ccl::view(full_a), full_out.composed,
                                  full_y).value;
  CHECK(std::abs(unmasked - ref_value) > 1e-3);
}
