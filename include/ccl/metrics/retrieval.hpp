#pragma once
// Recall@K video retrieval (method.md §6.2, the protocol since VCOP): every test clip is a query,
// every training clip is in the gallery, similarity is the cosine of the student's embeddings,
// and a query counts as correct at K when at least one of its K nearest gallery items has the
// query's class. R@K is the fraction of correct queries.
//
// Only the rank of the first same-class item matters, so the gallery is scanned in blocks of
// queries (one GEMM each) and, per query, we count the gallery items that are *strictly* more
// similar than its best same-class item; equal similarities are broken toward the lower gallery
// index, a deterministic stand-in for a stable sort. Memory is O(block·G), not O(Q·G).

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/normalize_rows.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/types.hpp>
#include <ccl/metrics/detail/row_major.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace ccl::metrics {

struct RecallAtK {
  std::vector<Index> ks;
  std::vector<double> recall;  ///< recall[j] = R@ks[j], in [0, 1]

  double at(Index k) const {
    for (std::size_t j = 0; j < ks.size(); ++j)
      if (ks[j] == k) return recall[j];
    throw error(ccl::detail::concat("RecallAtK::at: K = ", k, " was not computed"));
  }
};


template <class T>
RecallAtK recall_at_k(EmbeddingView<const T> queries, LabelView query_labels,
                      EmbeddingView<const T> gallery, LabelView gallery_labels,
                      std::vector<Index> ks = {1, 5, 10, 20}) {
  constexpr const char* op = "recall_at_k";
  checks::non_empty(op, "queries", queries);
  checks::non_empty(op, "gallery", gallery);
  require(queries.cols() == gallery.cols(), op, ": queries have shape ", queries.shape(),
          " but the gallery has shape ", gallery.shape(), " (embedding sizes differ)");
  checks::labels_match(op, queries.rows(), query_labels);
  checks::labels_match(op, gallery.rows(), gallery_labels);
  checks::finite(op, "queries", queries);
  checks::finite(op, "gallery", gallery);
  require(!ks.empty(), op, ": no K given");
  for (Index k : ks) require(k >= 1, op, ": K must be >= 1, got ", k);

  // Cosines as dot products of unit rows (F.normalize semantics: an all-zero row has cosine 0).
  const RowMatrix<T> q = l2_normalize_rows(queries);
  const RowMatrix<T> g = l2_normalize_rows(gallery);
  const Index block = std::max<Index>(1, (Index(1) << 22) / (gallery.rows() * Index(sizeof(T))));
  std::vector<Index> hits(ks.size(), 0);
  RowMatrix<T> sim;
  GemmScratch<T> scratch;
  for (Index first = 0; first < q.rows(); first += block) {
    const Index rows = std::min(block, q.rows() - first);
    sim.resize(rows, g.rows());
    parallel_gemm(sim, gemm_arg(q.middleRows(first, rows)), gemm_arg_transposed(g), Gemm::overwrite,
                  scratch);
    for (Index r = 0; r < rows; ++r) {
      const std::int64_t label = query_labels[first + r];
      // The best same-class gallery item (lowest index among equals).
      Index best = -1;
      T best_sim = -std::numeric_limits<T>::infinity();
      for (Index j = 0; j < g.rows(); ++j) {
        if (gallery_labels[j] == label && (best < 0 || sim(r, j) > best_sim)) {
          best = j;
          best_sim = sim(r, j);
        }
      }
      if (best < 0) continue;  // no item of this class in the gallery: never retrieved
      Index rank = 0;          // gallery items ranked before `best`
      for (Index j = 0; j < g.rows(); ++j) {
        if (sim(r, j) > best_sim || (sim(r, j) == best_sim && j < best)) ++rank;
      }
      for (std::size_t k = 0; k < ks.size(); ++k) hits[k] += rank < ks[k];
    }
  }
  RecallAtK result;
  result.ks = ks;
  for (Index h : hits) result.recall.push_back(double(h) / double(q.rows()));
  return result;
}

/// The same for Eigen matrices (RowMatrix, Eigen::MatrixXd, blocks): no template arguments or
/// ccl::view needed. Column-major inputs are copied to rows first.
template <class Q, class G,
          class = std::enable_if_t<ccl::detail::is_eigen_dense_v<Q> && ccl::detail::is_eigen_dense_v<G>>>
RecallAtK recall_at_k(const Q& queries, LabelView query_labels, const G& gallery,
                      LabelView gallery_labels, std::vector<Index> ks = {1, 5, 10, 20}) {
  using T = typename Q::Scalar;
  static_assert(std::is_same_v<T, typename G::Scalar>,
                "ccl::metrics::recall_at_k: queries and gallery must have the same scalar type");
  const detail::RowMajorCopy<Q> q(queries);
  const detail::RowMajorCopy<G> g(gallery);
  return recall_at_k<T>(q.view(), query_labels, g.view(), gallery_labels, std::move(ks));
}

}  // namespace ccl::metrics
