#pragma once
// CmcObjective<Scalar, Backend>: CMC of Table 1 (contrastive multiview coding used as a distiller,
// method.md §8.8) as a branch objective: view 1 = the student's embedding head on x_v, view 2 = the
// teacher's head on x_t [inferred], HobbitLong/CMC's NCEAverage with label-agnostic negatives over
// two memory banks of the whole training set.
//
// β: the value CCL used is unknown. The default 0.8 is CRD's (the same loss machinery, so the same
// scale) — our choice, flagged in docs/baselines.md. Objective: the NCE form by default (the
// code's default), ContrastObjective::softmax for the README's recommendation.
//
// Built with the training set's size; every step needs the rows' dataset indices
// (Pipeline::set_batch_indices; the Trainer passes them). See memory_bank_objective.hpp.

#include <ccl/core/backend.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/pipeline/objectives/detail/embed_head.hpp>
#include <ccl/pipeline/objectives/memory_bank_objective.hpp>

#include <cstdint>

namespace ccl::pipeline::objectives {

struct CmcObjectiveOptions {
  double beta = loss::baselines::Cmc<float>::default_beta;  ///< 0.8, CRD's [our choice]
  Index embed_dim = default_embed_dim;                      ///< 128
  /// K (16384), T (0.07), momentum (0.5) and the objective (NCE or softmax) of the loss.
  loss::baselines::CmcOptions loss;
};

/// Backend ccl::cpu (default) or ccl::cuda (include <ccl/cuda.hpp>): see memory_bank_objective.hpp.
template <class Scalar = float, class Backend = cpu>
class CmcObjective
    : public detail::MemoryBankObjective<loss::baselines::Cmc<Scalar, Backend>, Scalar, Backend> {
  using Base = detail::MemoryBankObjective<loss::baselines::Cmc<Scalar, Backend>, Scalar, Backend>;

 public:
  using Options = CmcObjectiveOptions;

  /// `dataset_size`: the number of training samples (rows of each bank). The heads and then the
  /// banks and the sampler's seed are drawn from `rng`.
  CmcObjective(Index student_dim, Index teacher_dim, Index dataset_size, Rng& rng,
               Options options = {})
      : Base("CmcObjective", student_dim, teacher_dim, options.embed_dim, rng, options.beta,
             [&](std::uint64_t seed) {
               return loss::baselines::Cmc<Scalar, Backend>(options.embed_dim, dataset_size,
                                                            options.loss, seed);
             }) {}
};

}  // namespace ccl::pipeline::objectives
