// Top-k accuracy and Recall@K retrieval against plain sort-based reference implementations.

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
