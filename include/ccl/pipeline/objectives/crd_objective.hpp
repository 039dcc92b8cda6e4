#pragma once
// CrdObjective<Scalar, Backend>: CRD of Table 1 (contrastive representation distillation, method.md
// §8.6) as a branch objective: Embed_s, Embed_t = Linear(d → 128), RepDistiller's CRDLoss with
// class-aware negatives ("exact" mode) over two memory banks of the whole training set, β = 0.8.
//
//   std::vector<std::int64_t> train_labels = ...;            // by dataset index
//   branch<Audio>(teacher::Precomputed<float>(512), NoComposition<float>{},
//                 objectives::CrdObjective<float>(512, 512, train_labels, rng));
//
// The banks have one row per training sample, so the objective is built with the training set's
// labels, and every step needs the rows' dataset indices (Pipeline::set_batch_indices; the
// Trainer passes them). The labels of a step must equal the training set's labels at those
// indices (checked). Heads, banks, Z constants and the sampler's generator are described in
// memory_bank_objective.hpp.

#include <ccl/core/backend.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/pipeline/objectives/detail/embed_head.hpp>
#include <ccl/pipeline/objectives/memory_bank_objective.hpp>

#include <cstdint>

namespace ccl::pipeline::objectives {

struct CrdObjectiveOptions {
  double beta = loss::baselines::Crd<float>::default_beta;  ///< 0.8 (RepDistiller)
  Index embed_dim = default_embed_dim;                      ///< 128
  /// K (16384), T (0.07), momentum (0.5) of the loss.
  loss::baselines::CrdOptions loss;
};

/// Backend ccl::cpu (default) or ccl::cuda (include <ccl/cuda.hpp>): see memory_bank_objective.hpp.
template <class Scalar = float, class Backend = cpu>
class CrdObjective
    : public detail::MemoryBankObjective<loss::baselines::Crd<Scalar, Backend>, Scalar, Backend> {
  using Base = detail::MemoryBankObjective<loss::baselines::Crd<Scalar, Backend>, Scalar, Backend>;

 public:
  using Options = CrdObjectiveOptions;

  /// `dataset_labels`: the label of every training sample by dataset index (copied). The heads
  /// and then the banks and the sampler's seed are drawn from `rng`.
  CrdObjective(Index student_dim, Index teacher_dim, LabelView dataset_labels, Rng& rng,
               Options options = {})
      : Base("CrdObjective", student_dim, teacher_dim, options.embed_dim, rng, options.beta,
             [&](std::uint64_t seed) {
               return loss::baselines::Crd<Scalar, Backend>(options.embed_dim, dataset_labels,
                                                            options.loss, seed);
             }) {}
};

}  // namespace ccl::pipeline::objectives
