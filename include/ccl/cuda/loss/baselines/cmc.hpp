#pragma once
// Cmc<Scalar, ccl::cuda>: the device version of CMC (ccl/loss/baselines/cmc.hpp), NCE or
// softmax objective. Same interface on device views; banks in device memory (memory_student() /
// memory_teacher(), gpu::DeviceMatrix); the label-agnostic contrast indices are drawn on the host
// by the CPU's own sampler (detail::uniform_contrast) from the same ccl::Rng, so both backends
// draw identical negatives for a seed; state() / load_state() move banks, Z and the generator to
// and from host data.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/detail/negative_samplers.hpp>

#include <cstdint>

namespace ccl::loss::baselines {

template <class Scalar>
class Cmc<Scalar, cuda> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::baselines::Cmc: the scalar type must be float or double");

 public:
  using Options = CmcOptions;
  static constexpr double default_beta = 0.8;

  Cmc(Index dim, Index dataset_size, Options options = {}, std::uint64_t seed = 0)
      : rng_(seed), objective_(options.objective), engine_("cmc", dataset_size, dim, options, rng_) {}

  const MemoryContrastOptions& options() const { return engine_.options(); }
  ContrastObjective objective() const { return objective_; }
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
  /// Restores a state() of a CPU or CUDA Cmc over the same dataset size and width.
  void load_state(const MemoryBankState<Scalar>& state) {
    detail::check_bank_state("cmc", state, dataset_size(), engine_.dim());
    rng_.set_state(state.rng_state);
    gpu::copy<Scalar>(ccl::view(state.memory_student), memory_student().mutable_view());
    gpu::copy<Scalar>(ccl::view(state.memory_teacher), memory_teacher().mutable_view());
    z_student() = state.z_student;
    z_teacher() = state.z_teacher;
  }

  /// Contrast indices for a batch: [B, K + 1], own index first, K label-agnostic uniform draws.
  ContrastIndices sample(SampleIndices indices) {
    engine_.check_indices(indices, indices.size());
    return detail::uniform_contrast(indices, options().negatives, dataset_size(), rng_);
  }

  Scalar score(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
               const ContrastIndices& contrast, Scalar weight, EmbeddingView<Scalar, cuda> grad_s,
               EmbeddingView<Scalar, cuda> grad_t) {
    return engine_.score(e_s, e_t, contrast, objective_, weight, grad_s, grad_t);
  }

  void update_memory(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
                     SampleIndices indices) {
    engine_.check_batch(e_s, e_t, {}, {});
    engine_.check_indices(indices, e_s.rows());
    engine_.update(e_s, e_t, indices);
  }

  /// One training step: sample, score (adding weight · dL/de), update the banks. Labels are
  /// accepted for symmetry with Crd and ignored.
  Scalar accumulate(EmbeddingView<const Scalar, cuda> e_s, EmbeddingView<const Scalar, cuda> e_t,
                    LabelView /*labels*/, SampleIndices indices, Scalar weight,
                    EmbeddingView<Scalar, cuda> grad_s, EmbeddingView<Scalar, cuda> grad_t) {
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
  gpu::baselines::DeviceMemoryContrast<Scalar> engine_;
};

}  // namespace ccl::loss::baselines
