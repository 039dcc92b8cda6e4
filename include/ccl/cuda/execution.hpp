#pragma once
// Execution<ccl::cuda>: the stream a component's ops are queued on, whether fp32 products may use
// TF32 tensor cores, and which contrastive-loss algorithm runs. Each device component holds one
// and takes a new one with set_execution (core/execution.hpp); a pipeline hands its own to every
// part, so
//
//   ccl::gpu::Stream stream;
//   pipeline.set_execution({stream.get(), /*allow_tf32=*/true});
//
// moves the whole pipeline onto `stream`. A component that was never given one runs on the
// legacy default stream with strict fp32 and the cuBLAS-tile contrastive algorithm.

#include <ccl/core/backend.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/cuda/stream.hpp>

#include <cuda_runtime_api.h>

namespace ccl {

namespace gpu {

/// How the row-softmax contrastive losses (multi-class NCE, instance NCE) run on the GPU.
enum class ContrastiveAlgorithm {
  /// Tiles of logits from cuBLAS GEMMs, a row kernel, two GEMMs for the gradients. Memory
  /// O(B·D + tile·B) with ContrastiveOptions::tile_rows (0 = automatic, about 256 MiB of logits).
  cublas,
  /// ccl's fused kernels: similarity tiles recomputed on chip, online log-sum-exp per row, loss
  /// and gradients accumulated tile by tile; no [rows, B] block is ever written. Memory O(B·D).
  fused,
};

}  // namespace gpu

template <>
struct Execution<cuda> {
  /// Stream every op is queued on; ops that return a host value synchronise it.
  cudaStream_t stream = nullptr;
  /// Allow TF32 tensor-core products for fp32 similarities (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
  gpu::ContrastiveAlgorithm contrastive = gpu::ContrastiveAlgorithm::cublas;
};

/// Replaces a component's execution (core/execution.hpp). When the stream changes, the new one
/// is made to wait for the work already queued on the old one (an event, recorded on the old
/// stream and waited for on the new: the host does not block).
inline void rebind_execution(Execution<cuda>& current, const Execution<cuda>& next) {
  if (current.stream != next.stream) {
    gpu::Event queued;  // destroying it after the wait is safe: it is released once complete
    queued.record(current.stream);
    queued.wait_on(next.stream);
  }
  current = next;
}

}  // namespace ccl
