#pragma once
// Top-k classification accuracy (method.md §6.1: Table 1 reports top-1, VGGSound also top-5).
// TopKAccuracy accumulates over the batches of an evaluation pass; a sample counts as correct at
// k when its label is among the k largest logits. Ties are broken toward the lower class index,
// as torch.topk does on CPU, so the count never depends on the order of equal logits.

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/metrics/detail/row_major.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ccl::metrics {

namespace detail {

/// The rank (0 = best) of class `label` among the logits of one row: the number of classes that
/// beat it, a tie counting as beating it when the other class has the lower index.
template <class T>
Index rank_of_label(const T* row, Index classes, Index label) {
  const T target = row[label];
  Index rank = 0;
  for (Index c = 0; c < classes; ++c) {
    if (row[c] > target || (row[c] == target && c < label)) ++rank;
  }
  return rank;
}

}  // namespace detail

class TopKAccuracy {
 public:
  /// Counts top-k hits for every k in `ks` (e.g. {1, 5}).
  explicit TopKAccuracy(std::vector<Index> ks = {1, 5}) : ks_(std::move(ks)), hits_(ks_.size(), 0) {
    require(!ks_.empty(), "TopKAccuracy: no k given");
    for (Index k : ks_) require(k >= 1, "TopKAccuracy: k must be >= 1, got ", k);
  }

  template <class T>
  void add(EmbeddingView<const T> logits, LabelView labels) {
    constexpr const char* op = "TopKAccuracy::add";
    checks::labels_match(op, logits.rows(), labels);
    require(logits.cols() > 0, op, ": logits have no classes (shape ", logits.shape(), ")");
    checks::labels_in_range(op, labels, logits.cols());
    checks::finite(op, "logits", logits);
    for (Index i = 0; i < logits.rows(); ++i) {
      const Index rank =
          detail::rank_of_label(logits.data() + i * logits.row_stride(), logits.cols(), labels[i]);
      for (std::size_t j = 0; j < ks_.size(); ++j) hits_[j] += rank < ks_[j];
    }
    count_ += logits.rows();
  }

  /// The same for an Eigen matrix (column-major ones are copied to rows first).
  template <class M, class = std::enable_if_t<ccl::detail::is_eigen_dense_v<M>>>
  void add(const M& logits, LabelView labels) {
    const detail::RowMajorCopy<M> rows(logits);
    add(rows.view(), labels);
  }

  Index count() const { return count_; }
  const std::vector<Index>& ks() const { return ks_; }

  /// Fraction in [0, 1] of samples whose label is in the top k; k must be one of ks().
  double accuracy(Index k = 1) const {
    require(count_ > 0, "TopKAccuracy::accuracy: no sample was added");
    for (std::size_t j = 0; j < ks_.size(); ++j) {
      if (ks_[j] == k) return double(hits_[j]) / double(count_);
    }
    throw error(ccl::detail::concat("TopKAccuracy::accuracy: k = ", k, " was not tracked"));
  }

  void reset() {
    count_ = 0;
    std::fill(hits_.begin(), hits_.end(), 0);
  }

 private:
  std::vector<Index> ks_;
  std::vector<Index> hits_;
  Index count_ = 0;
};

/// Top-k accuracy of one set of logits in one call: the fraction in [0, 1] of rows whose label is
/// among their k largest logits (ties toward the lower class index).
template <class Logits>
double top_k_accuracy(const Logits& logits, LabelView labels, Index k = 1) {
  TopKAccuracy accuracy({k});
  accuracy.add(logits, labels);
  return accuracy.accuracy(k);
}

}  // namespace ccl::metrics
