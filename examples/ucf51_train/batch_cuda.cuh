#pragma once
// BackendBatch<ccl::cuda>: a ClipBatch uploaded to the device (gpu::to_device on the default
// stream, the pipeline's: execution_for). The host copy of pageable memory returns once the data is
// staged, so the host batch may die right after; the device buffers live in this object until the
// step that uses them is done (the trainer reads the step's logits back, which synchronises the
// stream).

#include "batch.hpp"

#include <ccl/cuda.hpp>

namespace ucf51_train {

template <>
inline ccl::Execution<ccl::cuda> execution_for<ccl::cuda>(bool tf32) {
  ccl::Execution<ccl::cuda> execution;
  execution.allow_tf32 = tf32;
  return execution;
}

template <>
struct BackendBatch<ccl::cuda> {
  explicit BackendBatch(ccl::data::ClipBatch&& host)
      : clips_(ccl::gpu::to_device(host.clips, nullptr)),
        labels_(std::move(host.labels)),
        videos_(std::move(host.videos)) {
    // Evaluation batches (source.cpp) carry no teacher features: nothing to upload for them.
    if (host.audio.rows() > 0) audio_ = ccl::gpu::to_device(host.audio, nullptr);
    if (host.image.rows() > 0) image_ = ccl::gpu::to_device(host.image, nullptr);
  }

  const ccl::nn::Tensor<float, 5, ccl::cuda>& input() const { return clips_; }
  ccl::EmbeddingView<const float, ccl::cuda> audio() const { return audio_.view(); }
  ccl::EmbeddingView<const float, ccl::cuda> image() const { return image_.view(); }
  const std::vector<std::int32_t>& labels() const { return labels_; }
  const std::vector<ccl::Index>& videos() const { return videos_; }
  ccl::Index rows() const { return clips_.dim(0); }

 private:
  ccl::nn::Tensor<float, 5, ccl::cuda> clips_;
  ccl::gpu::DeviceMatrix<float> audio_, image_;
  std::vector<std::int32_t> labels_;
  std::vector<ccl::Index> videos_;
};

}  // namespace ucf51_train
