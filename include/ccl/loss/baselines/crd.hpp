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

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/detail/negative_samplers.hpp>
#include <ccl/loss/baselines/memory_bank.hpp>

#include <cstdint>
#include <type_traits>

namespace ccl::loss::baselines {

using CrdOptions = MemoryContrastOptions;

template <class Scalar, class Backend = cpu>
class Crd {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Crd: the scalar type must be float or double");
  static_assert(is_backend_v<Backend>,
                "ccl::loss::baselines::Crd: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda "
                "include <ccl/cuda/loss/baselines/crd.hpp> or <ccl/cuda.hpp>)");

 public:
  using Options = CrdOptions;
  static constexpr double default_beta = 0.8;

  /// `dim`: width of the embedding heads' output (128 in RepDistiller); `dataset_labels`: the
  /// label of every training sample, by dataset index (copied).
  Crd(Index dim, LabelView dataset_labels, Options options = {}, std::uint64_t seed = 0)
      : rng_(seed),
        engine_("crd", dataset_labels.size(), dim, options, rng_),
        negatives_(dataset_labels) {}

  /// Without the dataset's labels: score() with your own contrast indices, update_memory() and
  /// state() work; sample() and accumulate() need set_dataset_labels() first.
  Crd(Index dim, Index dataset_size, Options options = {}, std::uint64_t seed = 0)
      : rng_(seed), engine_("crd", dataset_size, dim, options, rng_) {}

  /// The label of every training sample, by dataset index (copied); one per dataset sample.
  void set_dataset_labels(LabelView dataset_labels) {
    negatives_.set_labels("crd", dataset_labels, dataset_size());
  }
  bool has_dataset_labels() const { return negatives_.has_labels(); }

  const Options& options() const { return engine_.options(); }
  Index dataset_size() const { return engine_.dataset_size(); }
  /// The banks, in the backend's memory (RowMatrix, or gpu::DeviceMatrix on ccl::cuda).
  backend_matrix_t<Scalar, Backend>& memory_student() { return engine_.memory_student(); }
  backend_matrix_t<Scalar, Backend>& memory_teacher() { return engine_.memory_teacher(); }
  /// Z of the student-anchored and the teacher-anchored scores (negative until the first batch).
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
    detail::load_bank_state("crd", state, engine_, rng_);
  }

  /// Contrast indices for a batch: [B, K + 1], own index first, class-aware negatives.
  ContrastIndices sample(SampleIndices indices) {
    engine_.check_indices(indices, indices.size());
    return negatives_.sample(indices, options().negatives, rng_);
  }

  /// The CRD loss for given contrast indices (sets Z on the first call; banks unchanged).
  Scalar score(EmbeddingView<const Scalar, Backend> e_s, EmbeddingView<const Scalar, Backend> e_t,
               const ContrastIndices& contrast, Scalar weight,
               EmbeddingView<Scalar, Backend> grad_s, EmbeddingView<Scalar, Backend> grad_t) {
    return engine_.score(e_s, e_t, contrast, ContrastObjective::nce, weight, grad_s, grad_t);
  }

  void update_memory(EmbeddingView<const Scalar, Backend> e_s,
                     EmbeddingView<const Scalar, Backend> e_t, SampleIndices indices) {
    engine_.check_batch(e_s, e_t, {}, {});
    engine_.check_indices(indices, e_s.rows());
    engine_.update(e_s, e_t, indices);
  }

  /// One training step of the loss: sample, score (adding weight · dL/de), update the banks.
  /// `labels` may be empty; when given they must equal the dataset's labels at `indices`.
  Scalar accumulate(EmbeddingView<const Scalar, Backend> e_s,
                    EmbeddingView<const Scalar, Backend> e_t, LabelView labels,
                    SampleIndices indices, Scalar weight, EmbeddingView<Scalar, Backend> grad_s,
                    EmbeddingView<Scalar, Backend> grad_t) {
    engine_.check_batch(e_s, e_t, grad_s, grad_t);
    engine_.check_indices(indices, e_s.rows());
    negatives_.check_batch_labels("crd", e_s.rows(), labels, indices);
    const ContrastIndices contrast = sample(indices);
    const Scalar value = score(e_s, e_t, contrast, weight, grad_s, grad_t);
    engine_.update(e_s, e_t, indices);
    return value;
  }

 private:
  Rng rng_;
  detail::memory_contrast_engine_t<Scalar, Backend> engine_;
  detail::ClassAwareNegatives negatives_;
};

}  // namespace ccl::loss::baselines
