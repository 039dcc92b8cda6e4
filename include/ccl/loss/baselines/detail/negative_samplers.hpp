#pragma once
// How CRD (method.md §8.6) and CMC (§8.8) draw the contrast indices of a batch, shared by both
// backends: the indices are drawn on the host from the loss's ccl::Rng, so that a CPU and a CUDA
// loss built with the same seed pick identical negatives (and a checkpointed generator resumes
// the same stream on either backend).
//
//   ClassAwareNegatives (CRD, "exact" mode): column 0 = own index; K negatives uniform over the
//     samples of OTHER classes, without replacement (Floyd's algorithm) when K does not exceed
//     their number, with replacement otherwise.
//   uniform_contrast (CMC): K + 1 uniform draws over all N with replacement, column 0 then
//     overwritten with the own index (the reference's alias sampler over uniform weights).

#include <ccl/core/checks.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/memory_bank.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace ccl::loss::baselines {

namespace detail {

/// CRD's class-aware negative sampler over a fixed dataset labelling.
class ClassAwareNegatives {
 public:
  ClassAwareNegatives() = default;
  /// `dataset_labels`: the label of every training sample, by dataset index (copied).
  explicit ClassAwareNegatives(LabelView dataset_labels) {
    const Index n = dataset_labels.size();
    labels_.resize(std::size_t(n));
    for (Index i = 0; i < n; ++i) labels_[std::size_t(i)] = dataset_labels[i];
    // Dataset indices grouped by class; every sample remembers its class's [begin, end).
    by_class_.resize(std::size_t(n));
    std::iota(by_class_.begin(), by_class_.end(), Index(0));
    std::stable_sort(by_class_.begin(), by_class_.end(), [this](Index a, Index b) {
      return labels_[std::size_t(a)] < labels_[std::size_t(b)];
    });
    class_begin_.resize(std::size_t(n));
    class_end_.resize(std::size_t(n));
    for (Index begin = 0; begin < n;) {
      Index end = begin;
      const auto y = labels_[std::size_t(by_class_[std::size_t(begin)])];
      while (end < n && labels_[std::size_t(by_class_[std::size_t(end)])] == y) ++end;
      for (Index p = begin; p < end; ++p) {
        class_begin_[std::size_t(by_class_[std::size_t(p)])] = begin;
        class_end_[std::size_t(by_class_[std::size_t(p)])] = end;
      }
      begin = end;
    }
    marks_.assign(std::size_t(n), 0);
  }

  /// Replaces the labelling; it must hold one label per sample of a dataset of `dataset_size`.
  void set_labels(const char* op, LabelView dataset_labels, Index dataset_size) {
    require(dataset_labels.size() == dataset_size, op, ": ", dataset_labels.size(),
            " dataset labels given for a memory bank of ", dataset_size, " samples");
    *this = ClassAwareNegatives(dataset_labels);
  }

  Index size() const { return Index(labels_.size()); }
  bool has_labels() const { return !labels_.empty(); }
  std::int64_t label(Index index) const { return labels_[std::size_t(index)]; }

  /// When given, a batch's labels must be the dataset's labels at its indices (a mismatch means
  /// the indices do not address the dataset the sampler was built on).
  void check_batch_labels(const char* op, Index batch, LabelView labels,
                          const SampleIndices& indices) const {
    if (labels.empty()) return;
    checks::labels_match(op, batch, labels);
    if (!has_labels()) return;
    for (Index i = 0; i < labels.size(); ++i) {
      const auto expected = label(Index(indices[i]));
      require(labels[i] == expected, op, ": label[", i, "] = ", labels[i],
              " but the dataset's label of index ", indices[i], " is ", expected);
    }
  }

  /// [B, K + 1] contrast indices for in-range `indices` (the caller checks the range).
  ContrastIndices sample(const SampleIndices& indices, Index k, Rng& rng) {
    require(has_labels(),
            "crd: the loss was built without the dataset's labels (Crd(dim, dataset_size)), so it "
            "cannot draw class-aware negatives; give them with set_dataset_labels(labels), or "
            "pass your own contrast indices to score()");
    const Index n = size();
    ContrastIndices idx(indices.size(), k + 1);
    for (Index i = 0; i < indices.size(); ++i) {
      const Index own = Index(indices[i]);
      const Index begin = class_begin_[std::size_t(own)];
      const Index same = class_end_[std::size_t(own)] - begin;
      const Index others = n - same;
      require(others > 0, "crd: every training sample has label ", labels_[std::size_t(own)],
              " (the class of index[", i, "] = ", own, "), so there is no negative to draw");
      // Position p of the complement of the class's block in by_class_.
      auto pick = [&](Index p) { return by_class_[std::size_t(p < begin ? p : p + same)]; };
      idx(i, 0) = own;
      if (k > others) {
        for (Index j = 0; j < k; ++j) idx(i, j + 1) = pick(rng.index(others));
        continue;
      }
      // Floyd's algorithm: a uniform K-subset of [0, others) in O(K) draws.
      Index filled = 1;
      for (Index j = others - k; j < others; ++j) {
        const Index t = rng.index(j + 1);
        const Index chosen = marks_[std::size_t(t)] ? j : t;
        marks_[std::size_t(chosen)] = 1;
        idx(i, filled++) = chosen;
      }
      for (Index j = 1; j <= k; ++j) {
        marks_[std::size_t(idx(i, j))] = 0;
        idx(i, j) = pick(idx(i, j));
      }
    }
    return idx;
  }

 private:
  std::vector<std::int64_t> labels_;
  std::vector<Index> by_class_, class_begin_, class_end_;
  std::vector<unsigned char> marks_;
};

/// CMC's label-agnostic contrast indices over a dataset of n samples.
inline ContrastIndices uniform_contrast(const SampleIndices& indices, Index k, Index n, Rng& rng) {
  ContrastIndices idx(indices.size(), k + 1);
  for (Index i = 0; i < indices.size(); ++i) {
    // The reference draws K + 1 indices and overwrites the first with the own index.
    for (Index j = 0; j <= k; ++j) idx(i, j) = rng.index(n);
    idx(i, 0) = Index(indices[i]);
  }
  return idx;
}

}  // namespace detail
}  // namespace ccl::loss::baselines
