#pragma once
// CRD, Contrastive Representation Distillation (Tian, Krishnan, Isola, ICLR 2020; method.md
// §8.6), RepDistiller's `CRDLoss` in its "exact" (class-aware) sampling mode.
//
// Inputs are the outputs of the two trainable embedding heads, e_s = Embed_s(f_s) and
// e_t = Embed_t(f_t) (Linear(d → 128); the caller owns them, e.g. ccl::nn::Linear), NOT yet
// normalised: the L2 normalisation of RepDistiller's Embed happens here, with its gradient.
// State: the two memory banks, the frozen normalisation constants Z and a seeded ccl::Rng that
// draws the negatives. Each call (accumulate):
//   1. contrast indices: column 0 = the sample's own dataset index; K negatives drawn uniformly
//      from the training samples of OTHER classes, without replacement when K does not exceed
//      their number and with replacement otherwise (K = 16384 > N on UCF51);
//   2. L = L_NCE(student anchor vs teacher bank) + L_NCE(teacher anchor vs student bank), the NCE
//      form of detail/contrast_memory.hpp, T = 0.07, Z set at the first batch;
//   3. momentum update (μ = 0.5) of both banks at the batch's own indices.
// β = 0.8 (default_beta). Lower-level steps (sample / score / update_memory) are public so that a
// caller can supply its own contrast indices or freeze the banks (gradient checks do).

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace ccl::loss::baselines {

using CrdOptions = MemoryContrastOptions;

template <class Scalar>
class Crd {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Crd: the scalar type must be float or double");

 public:
  using Options = CrdOptions;
  static constexpr double default_beta = 0.8;

  /// `dim`: width of the embedding heads' output (128 in RepDistiller); `dataset_labels`: the
  /// label of every training sample, by dataset index (copied).
  Crd(Index dim, LabelView dataset_labels, Options options = {}, std::uint64_t seed = 0)
      : rng_(seed),
        engine_("crd", dataset_labels.size(), dim, options, rng_) {
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

  const Options& options() const { return engine_.options(); }
  Index dataset_size() const { return engine_.dataset_size(); }
  RowMatrix<Scalar>& memory_student() { return engine_.memory_student(); }
  RowMatrix<Scalar>& memory_teacher() { return engine_.memory_teacher(); }
  /// Z of the student-anchored and the teacher-anchored scores (negative until the first batch).
  double& z_student() { return engine_.z_student(); }
  double& z_teacher() { return engine_.z_teacher(); }
  Rng& rng() { return rng_; }

  /// Contrast indices for a batch: [B, K + 1], own index first, class-aware negatives.
  ContrastIndices sample(SampleIndices indices) {
    engine_.check_indices(indices, indices.size());
    const Index k = options().negatives;
    const Index n = dataset_size();
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
        for (Index j = 0; j < k; ++j) idx(i, j + 1) = pick(rng_.index(others));
        continue;
      }
      // Floyd's algorithm: a uniform K-subset of [0, others) in O(K) draws.
      Index filled = 1;
      for (Index j = others - k; j < others; ++j) {
        const Index t = rng_.index(j + 1);
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

  /// The CRD loss for given contrast indices (sets Z on the first call; banks unchanged).
  Scalar score(EmbeddingView<const Scalar> e_s, EmbeddingView<const Scalar> e_t,
               const ContrastIndices& contrast, Scalar weight, EmbeddingView<Scalar> grad_s,
               EmbeddingView<Scalar> grad_t) {
    return engine_.score(e_s, e_t, contrast, ContrastObjective::nce, weight, grad_s, grad_t);
  }

  void update_memory(EmbeddingView<const Scalar> e_s, EmbeddingView<const Scalar> e_t,
                     SampleIndices indices) {
    engine_.check_batch(e_s, e_t, {}, {});
    engine_.check_indices(indices, e_s.rows());
    engine_.update(e_s, e_t, indices);
  }

  /// One training step of the loss: sample, score (adding weight · dL/de), update the banks.
  /// `labels` may be empty; when given they must equal the dataset's labels at `indices`.
  Scalar accumulate(EmbeddingView<const Scalar> e_s, EmbeddingView<const Scalar> e_t,
                    LabelView labels, SampleIndices indices, Scalar weight,
                    EmbeddingView<Scalar> grad_s, EmbeddingView<Scalar> grad_t) {
    engine_.check_batch(e_s, e_t, grad_s, grad_t);
    engine_.check_indices(indices, e_s.rows());
    if (!labels.empty()) {
      checks::labels_match("crd", e_s.rows(), labels);
      for (Index i = 0; i < labels.size(); ++i) {
        const auto expected = labels_[std::size_t(indices[i])];
        require(labels[i] == expected, "crd: label[", i, "] = ", labels[i],
                " but the dataset's label of index ", indices[i], " is ", expected);
      }
    }
    const ContrastIndices contrast = sample(indices);
    const Scalar value = score(e_s, e_t, contrast, weight, grad_s, grad_t);
    engine_.update(e_s, e_t, indices);
    return value;
  }

 private:
  Rng rng_;
  detail::MemoryContrast<Scalar> engine_;
  std::vector<std::int64_t> labels_;
  std::vector<Index> by_class_, class_begin_, class_end_;
  std::vector<unsigned char> marks_;
};

}  // namespace ccl::loss::baselines
