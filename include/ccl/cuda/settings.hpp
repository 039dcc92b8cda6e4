#pragma once
// Per-thread settings of the CUDA backend: the stream ops run on, whether fp32 products may use
// TF32 tensor cores, and which contrastive-loss algorithm runs. Losses are ordinary objects with
// the same interface on both backends, so these knobs live here instead of in every loss's
// options; change them for a scope with ScopedSettings.

#include <cuda_runtime_api.h>

namespace ccl::gpu {

/// How the row-softmax contrastive losses (multi-class NCE, instance NCE) run on the GPU.
enum class ContrastiveAlgorithm {
  /// Tiles of logits from cuBLAS GEMMs, a row kernel, two GEMMs for the gradients. Memory
  /// O(B·D + tile·B) with ContrastiveOptions::tile_rows (0 = automatic, about 256 MiB of logits).
  cublas,
  /// ccl's fused kernels: similarity tiles recomputed on chip, online log-sum-exp per row, loss
  /// and gradients accumulated tile by tile; no [rows, B] block is ever written. Memory O(B·D).
  fused,
};

struct Settings {
  /// Stream every op is queued on; ops that return a host value synchronise it.
  cudaStream_t stream = nullptr;
  /// Allow TF32 tensor-core products for fp32 similarities (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
  ContrastiveAlgorithm contrastive = ContrastiveAlgorithm::cublas;
};

/// The calling thread's settings (a reference: assign to change them for the thread).
inline Settings& settings() {
  thread_local Settings current;
  return current;
}

/// Replaces the calling thread's settings until the end of the scope.
class ScopedSettings {
 public:
  explicit ScopedSettings(const Settings& replacement) : saved_(settings()) {
    settings() = replacement;
  }
  ScopedSettings(const ScopedSettings&) = delete;
  ScopedSettings& operator=(const ScopedSettings&) = delete;
  ~ScopedSettings() { settings() = saved_; }

 private:
  Settings saved_;
};

}  // namespace ccl::gpu
