#pragma once
// CMC, Contrastive Multiview Coding used as a distiller (Tian, Krishnan, Isola, ECCV 2020;
// method.md §8.8), after HobbitLong/CMC's `NCEAverage` with view 1 = the student's embedding head
// and view 2 = the teacher's.
//
// Same machinery as CRD (crd.hpp, detail/contrast_memory.hpp: two memory banks, L2-normalised
// head outputs, T = 0.07, μ = 0.5, Z fixed at the first batch) with one difference that matters:
// negatives ignore labels. The K contrast indices are drawn uniformly from all N samples, with
// replacement (the reference's alias sampler over uniform weights), column 0 is then overwritten
// with the sample's own index, and a negative may be the sample itself or share its class — pure
// instance discrimination. Two objectives: ContrastObjective::nce (the default of the code) or
// ContrastObjective::softmax (cross-entropy with target 0 over the K+1 logits score/T, which the
// CMC README recommends). The value of β CCL used for CMC is unknown; 0.8 (CRD's) is the default
// we suggest (docs/baselines.md).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/detail/negative_samplers.hpp>

#include <cstdint>
#include <type_traits>

namespace ccl::loss::baselines {

struct CmcOptions : MemoryContrastOptions {
  ContrastObjective objective = ContrastObjective::nce;
};

template <class Scalar, class Backend = cpu>
class Cmc {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Cmc: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::Cmc: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda "
                "include <ccl/cuda/loss/baselines/cmc.hpp> or <ccl/cuda.hpp>)");

 public:
  using Options = CmcOptions;
  static constexpr double default_beta = 0.8;

  Cmc(Index dim, Index dataset_size, Options options = {}, std::uint64_t seed = 0)
      : rng_(seed),
        objective_(options.objective),
        engine_("cmc", dataset_size, dim, options, rng_) {}

  const MemoryContrastOptions& options() const { return engine_.options(); }
  ContrastObjective objective() const { return objective_; }
  Index dataset_size() const { return engine_.dataset_size(); }
  /// The banks, in the backend's memory (RowMatrix, or gpu::DeviceMatrix on ccl::cuda).
  backend_matrix_t<Scalar, Backend>& memory_student() { return engine_.memory_student(); }
  backend_matrix_t<Scalar, Backend>& memory_teacher() { return engine_.memory_teacher(); }
  double& z_student() { return engine_.z_student(); }
  double& z_teacher() { return engine_.z_teacher(); }
  Rng& rng() { return rng_; }

  /// The banks' kernels, scans and GEMMs run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(engine_, execution);
  }

  /// Banks (copied to the host from a device), Z and the sampler's generator as host data (for
  /// checkpoints, or to continue on the other backend).
  MemoryBankState<Scalar> state() { return detail::bank_state<Scalar>(engine_, rng_); }
  /// Restores a state() of a CPU or CUDA loss over the same dataset size and width.
  void load_state(const MemoryBankState<Scalar>& state) {
    detail::load_bank_state("cmc", state, engine_, rng_);
  }

  /// Contrast indices for a batch: [B, K + 1], own index first, K label-agnostic uniform draws.
  ContrastIndices sample(SampleIndices indices) {
    engine_.check_indices(indices, indices.size());
    const Index k = options().negatives;
    return detail::uniform_contrast(indices, k, dataset_size(), rng_);
  }

  Scalar score(EmbeddingView<const Scalar, Backend> e_s, EmbeddingView<const Scalar, Backend> e_t,
               const ContrastIndices& contrast, Scalar weight,
               EmbeddingView<Scalar, Backend> grad_s, EmbeddingView<Scalar, Backend> grad_t) {
    return engine_.score(e_s, e_t, contrast, objective_, weight, grad_s, grad_t);
  }

  void update_memory(EmbeddingView<const Scalar, Backend> e_s,
                     EmbeddingView<const Scalar, Backend> e_t, SampleIndices indices) {
    engine_.check_batch(e_s, e_t, {}, {});
    engine_.check_indices(indices, e_s.rows());
    engine_.update(e_s, e_t, indices);
  }

  /// One training step: sample, score (adding weight · dL/de), update the banks. Labels are
  /// accepted for symmetry with Crd and ignored: CMC's negatives are label-agnostic.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> e_s,
                    EmbeddingView<const Scalar, Backend> e_t, LabelView /*labels*/,
                    SampleIndices indices, Scalar weight, EmbeddingView<Scalar, Backend> grad_s,
                    EmbeddingView<Scalar, Backend> grad_t) {
    engine_.check_batch(e_s, e_t, grad_s, grad_t);
    engine_.check_indices(indices, e_s.rows());
    const ContrastIndices contrast = sample(indices);
    const Scalar value = score(e_s, e_t, contrast, weight, grad_s, grad_t);
    engine_.update(e_s, e_t, indices);
    return value;
  }

 private:
  Rng rng_;
  ContrastObjective objective_;
  detail::memory_contrast_engine_t<Scalar, Backend> engine_;
};

}  // namespace ccl::loss::baselines
