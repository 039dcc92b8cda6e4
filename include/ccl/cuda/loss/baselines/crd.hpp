#pragma once
// Crd<Scalar, ccl::cuda>: the device version of CRD (ccl/loss/baselines/crd.hpp). Same
// interface on device views; the banks are device matrices (memory_student() /
// memory_teacher(), gpu::DeviceMatrix), Z and the sampler's ccl::Rng stay on the host.
// The negatives are drawn on the host by the CPU's own sampler (detail::ClassAwareNegatives)
// from the same generator, so a CPU and a CUDA Crd built with the same seed draw identical
// negatives and start from identical banks; state() / load_state() move banks, Z and the
// generator to and from host data (checkpoints, or switching backends mid-run).

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/detail/negative_samplers.hpp>
#include <ccl/loss/baselines/memory_bank.hpp>

#include <cstdint>

namespace ccl::loss::baselines {

template <class Scalar>
class Crd<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Crd: the scalar type must be float or double");

 public:
  using Options = CrdOptions;
  static constexpr double default_beta = 0.8;

  /// `dim`: width of the embedding heads' output; `dataset_labels`: the label of every training
  /// sample, by dataset index (copied, kept on the host for the sampler).
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
  gpu::DeviceMatrix<Scalar>& memory_student() { return engine_.memory_student(); }
  gpu::DeviceMatrix<Scalar>& memory_teacher() { return engine_.memory_teacher(); }
  double& z_student() { return engine_.z_student(); }
  double& z_teacher() { return engine_.z_teacher(); }
  Rng& rng() { return rng_; }

  /// Banks (copied to the host), Z and the generator.
  MemoryBankState<Scalar> state() {
    return {gpu::to_host(memory_student()), gpu::to_host(memory_teacher()), z_student(),
            z_teacher(), rng_.state()};
  }
  /// Restores a state() of a CPU or CUDA Crd over the same dataset size and width.
  void load_state(const MemoryBankState<Scalar>& state) {
    detail::check_bank_state("crd", state, dataset_size(), engine_.dim());
    rng_.set_state(state.rng_state);
    gpu::copy<Scalar>(ccl::view(state.memory_student), memory_student().mutable_view());
    gpu::copy<Scalar>(ccl::view(state.memory_teacher), memory_teacher().mutable_view());
    z_student() = state.z_student;
    z_teacher() = state.z_teacher;
  }

  /// Contrast indices for a batch: [B, K + 1], own index first, class-aware negatives (host).
  ContrastIndices sample(SampleIndices indices) {
    engine_.check_indices(indices, indices.size());
    return negatives_.sample(indices, options().negatives, rng_);
  }

  /// The CRD loss for given contrast indices (sets Z on the first call; banks unchanged).
  Scalar score(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
               const ContrastIndices& contrast, Scalar weight, EmbeddingView<Scalar, cuda> grad_s,
               EmbeddingView<Scalar, cuda> grad_t) {
    return engine_.score(e_s, e_t, contrast, ContrastObjective::nce, weight, grad_s, grad_t);
  }

  void update_memory(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
                     SampleIndices indices) {
    engine_.check_batch(e_s, e_t, {}, {});
    engine_.check_indices(indices, e_s.rows());
    engine_.update(e_s, e_t, indices);
  }

  /// One training step of the loss: sample, score (adding weight · dL/de), update the banks.
  /// `labels` may be empty; when given they must equal the dataset's labels at `indices`.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
                    LabelView labels, SampleIndices indices, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_s, EmbeddingView<Scalar, cuda> grad_t) {
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
  gpu::baselines::DeviceMemoryContrast<Scalar> engine_;
  detail::ClassAwareNegatives negatives_;
};

}  // namespace ccl::loss::baselines
