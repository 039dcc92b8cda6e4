#pragma once
// BackendBatch<Backend>: one host ClipBatch made ready for the backend's pipeline — the clips as
// the student's input tensor, the audio and image features as teacher embeddings, the labels on
// the host. The CPU version keeps the host batch; the CUDA version (batch_cuda.cuh) uploads it
// with gpu::to_device and owns the device buffers for as long as the step needs them.
//
// Interface (both backends):
//   explicit BackendBatch(ccl::data::ClipBatch&& host);
//   const Input& input() const;                                  // [N, 3, T, S, S]
//   EmbeddingView<const float, Backend> audio() const, image() const;  // [N, dim]
//   const std::vector<std::int32_t>& labels() const;
//   const std::vector<ccl::Index>& videos() const;                    // the rows' videos
//   ccl::Index rows() const;

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/ucf51_dataset.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace ucf51_train {

/// Where the backend's work runs: nothing to choose on the CPU; on CUDA (batch_cuda.cuh) the
/// default stream, with TF32 products when `tf32`.
template <class Backend>
ccl::Execution<Backend> execution_for(bool /*tf32*/) {
  return {};
}

template <class Backend>
struct BackendBatch {
  static_assert(std::is_same_v<Backend, ccl::cpu>,
                "ucf51_train::BackendBatch<ccl::cuda> lives in batch_cuda.cuh; include it in the "
                "CUDA translation unit");
};

template <>
struct BackendBatch<ccl::cpu> {
  explicit BackendBatch(ccl::data::ClipBatch&& host) : host_(std::move(host)) {}

  const ccl::nn::Tensor<float, 5>& input() const { return host_.clips; }
  ccl::EmbeddingView<const float> audio() const { return ccl::view(host_.audio); }
  ccl::EmbeddingView<const float> image() const { return ccl::view(host_.image); }
  const std::vector<std::int32_t>& labels() const { return host_.labels; }
  const std::vector<ccl::Index>& videos() const { return host_.videos; }
  ccl::Index rows() const { return host_.clips.dim(0); }

 private:
  ccl::data::ClipBatch host_;
};

}  // namespace ucf51_train
