// Top-k accuracy and Recall@K retrieval against plain sort-based reference implementations.

#include <ccl/core/normalize_rows.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/metrics/accuracy.hpp>
#include <ccl/metrics/retrieval.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

using ccl::Index;
using Matrix = ccl::RowMatrix<double>;

namespace {

Matrix random_matrix(Index rows, Index cols, ccl::Rng& rng) {
  Matrix m(rows, cols);
  rng.fill_normal(m);
  return m;
}

std::vector<std::int64_t> random_labels(Index n, Index classes, ccl::Rng& rng) {
  std::vector<std::int64_t> y(static_cast<std::size_t>(n));
  for (auto& v : y) v = rng.index(classes);
  return y;
}

// Reference: sort each query's gallery by (similarity desc, index asc), find the first hit.
std::vector<double> reference_recall(const Matrix& q, const std::vector<std::int64_t>& yq,
                                     const Matrix& g, const std::vector<std::int64_t>& yg,
                                     const std::vector<Index>& ks) {
  std::vector<double> hits(ks.size(), 0);
  for (Index i = 0; i < q.rows(); ++i) {
    std::vector<std::pair<double, Index>> order;
    for (Index j = 0; j < g.rows(); ++j) {
      const double cos = q.row(i).dot(g.row(j)) / (q.row(i).norm() * g.row(j).norm());
      order.push_back({-cos, j});
    }
    std::sort(order.begin(), order.end());
    for (std::size_t k = 0; k < ks.size(); ++k) {
      for (Index r = 0; r < std::min<Index>(ks[k], g.rows()); ++r) {
        if (yg[std::size_t(order[std::size_t(r)].second)] == yq[std::size_t(i)]) {
          hits[k] += 1;
          break;
        }
      }
    }
  }
  for (auto& h : hits) h /= double(q.rows());
  return hits;
}

}  // namespace

TEST_CASE("top-k accuracy counts hits like torch.topk", "[metrics][accuracy]") {
  Matrix logits(4, 3);
  logits << 0.1, 0.7, 0.2,  // label 1: top-1
      0.5, 0.4, 0.1,        // label 1: rank 1
      0.3, 0.3, 0.3,        // label 2: ties broken toward lower index -> rank 2
      -1, -2, -3;           // label 0: top-1
  std::vector<int> y{1, 1, 2, 0};
  ccl::metrics::TopKAccuracy acc({1, 2, 3});
  acc.add(logits, y);
  CHECK(acc.accuracy(1) == Approx(0.5));
  CHECK(acc.accuracy(2) == Approx(0.75));
  CHECK(acc.accuracy(3) == Approx(1.0));
  CHECK(acc.count() == 4);
  CHECK_THROWS_WITH(acc.accuracy(5), Catch::Contains("k = 5 was not tracked"));
  CHECK_THROWS_WITH(acc.add(logits, std::vector<int>{1, 1, 3, 0}),
                    Catch::Contains("label[2] = 3 is outside [0, 3)"));
  CHECK_THROWS_WITH(acc.add(logits, std::vector<int>{1}), Catch::Contains("1 labels for a batch of 4"));
  ccl::metrics::TopKAccuracy empty;
  CHECK_THROWS_WITH(empty.accuracy(1), Catch::Contains("no sample"));
}

TEST_CASE("Recall@K matches a sort-based reference", "[metrics][retrieval]") {
  ccl::Rng rng(11);
  const Index classes = GENERATE(2, 5, 40);
  const Matrix q = random_matrix(37, 6, rng), g = random_matrix(91, 6, rng);
  const auto yq = random_labels(37, classes, rng), yg = random_labels(91, classes, rng);
  const std::vector<Index> ks{1, 2, 5, 10, 20};
  const auto r = ccl::metrics::recall_at_k<double>(q, yq, g, yg, ks);
  const auto expected = reference_recall(q, yq, g, yg, ks);
  for (std::size_t k = 0; k < ks.size(); ++k) CHECK(r.recall[k] == Approx(expected[k]));
  for (std::size_t k = 1; k < ks.size(); ++k) CHECK(r.recall[k] >= r.recall[k - 1]);
  CHECK(r.at(5) == r.recall[2]);
}

TEST_CASE("Recall@K is 1 at K = 1 for a gallery that contains the queries", "[metrics][retrieval]") {
  ccl::Rng rng(12);
  const Matrix g = random_matrix(20, 4, rng);
  const auto yg = random_labels(20, 4, rng);
  CHECK(ccl::metrics::recall_at_k<double>(g, yg, g, yg, {1}).at(1) == 1.0);
}

TEST_CASE("Recall@K rejects bad input", "[metrics][retrieval][errors]") {
  ccl::Rng rng(13);
  const Matrix q = random_matrix(3, 4, rng), g = random_matrix(5, 4, rng);
  const std::vector<int> yq{0, 1, 0}, yg{0, 1, 0, 1, 1};
  CHECK_THROWS_WITH(ccl::metrics::recall_at_k<double>(q, yq, random_matrix(5, 3, rng), yg),
                    Catch::Contains("embedding sizes differ"));
  CHECK_THROWS_WITH(ccl::metrics::recall_at_k<double>(Matrix(0, 4), std::vector<int>{}, g, yg),
                    Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(ccl::metrics::recall_at_k<double>(q, yq, g, yg, {0}), Catch::Contains("K must be >= 1"));
  Matrix bad = q;
  bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(ccl::metrics::recall_at_k<double>(bad, yq, g, yg), Catch::Contains("not finite"));
}

TEST_CASE("Recall@K and top-k accuracy take plain Eigen matrices without template arguments",
          "[metrics][retrieval][accuracy]") {
  ccl::Rng rng(21);
  const Matrix q = random_matrix(17, 5, rng), g = random_matrix(40, 5, rng);
  const auto yq = random_labels(17, 4, rng), yg = random_labels(40, 4, rng);
  const std::vector<Index> ks{1, 5};
  const auto with_views = ccl::metrics::recall_at_k(ccl::view(q), yq, ccl::view(g), yg, ks);
  // RowMatrix, column-major MatrixXd, a float RowMatrix: all deduce.
  CHECK(ccl::metrics::recall_at_k(q, yq, g, yg, ks).recall == with_views.recall);
  const Eigen::MatrixXd q_columns = q, g_columns = g;
  CHECK(ccl::metrics::recall_at_k(q_columns, yq, g_columns, yg, ks).recall == with_views.recall);
  CHECK(ccl::metrics::recall_at_k(q.topRows(5), std::vector<std::int64_t>(yq.begin(), yq.begin() + 5),
                                  g, yg, ks)
            .recall.size() == 2);
  const ccl::RowMatrix<float> qf = q.cast<float>(), gf = g.cast<float>();
  CHECK(ccl::metrics::recall_at_k(qf, yq, gf, yg, {1}).at(1) == Approx(with_views.at(1)));

  Matrix logits(3, 2);
  logits << 1, 0, 0, 1, 2, 1;
  const std::vector<int> y{0, 0, 0};
  CHECK(ccl::metrics::top_k_accuracy(logits, y) == Approx(2.0 / 3));
  CHECK(ccl::metrics::top_k_accuracy(logits, y, 2) == 1.0);
  const Eigen::MatrixXd logits_columns = logits;
  CHECK(ccl::metrics::top_k_accuracy(logits_columns, y) == Approx(2.0 / 3));
  CHECK(ccl::metrics::top_k_accuracy(ccl::view(logits), y) == Approx(2.0 / 3));
}

TEST_CASE("l2_normalize_rows is F.normalize(x, dim=1): unit rows, zero rows stay zero, huge rows "
          "exact, NaN an error",
          "[metrics][normalize]") {
  Matrix x(4, 3);
  x << 3, 4, 0,  //
      0, 0, 0,   //
      1e300, 1e300, 0,  // squares overflow double
      -1, 2, -2;
  const Matrix unit = ccl::l2_normalize_rows(x);
  CHECK(unit.row(0).isApprox(Eigen::RowVector3d(0.6, 0.8, 0)));
  CHECK(unit.row(1).isZero(0));
  CHECK(unit.row(2).isApprox(Eigen::RowVector3d(1, 1, 0) / std::sqrt(2.0)));
  CHECK(unit.row(3).isApprox(Eigen::RowVector3d(-1, 2, -2) / 3.0));
  // A tiny but nonzero row is divided by 1e-12, as F.normalize does.
  Matrix tiny(1, 2);
  tiny << 3e-13, 4e-13;
  CHECK(ccl::l2_normalize_rows(tiny).isApprox(Matrix(tiny / 1e-12)));
  // Column-major input, float, and in place give the same rows.
  const Eigen::MatrixXd columns = x.topRows(2);
  CHECK(ccl::l2_normalize_rows(columns) == unit.topRows(2));
  ccl::RowMatrix<float> xf = x.row(3).cast<float>();
  ccl::l2_normalize_rows_in_place(xf);
  CHECK(xf.cast<double>().isApprox(unit.row(3), 1e-6));
  Matrix bad = x;
  bad(3, 1) = std::nan("");
  CHECK_THROWS_WITH(ccl::l2_normalize_rows(bad), Catch::Contains("x[3, 1] = nan is not finite"));
}
