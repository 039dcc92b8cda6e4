#pragma once
// Datasets over the tri-modal benchmark in the shape ccl::pipeline::Trainer expects
// (size(), load(indices) -> {input, labels, teacher_inputs}).
//
//   ImageSet  Fashion-MNIST images        -> [N, 1, 28, 28]   (image teacher training)
//   AudioSet  log-mel utterances          -> [N, mel, frames] (audio teacher training)
//   ClipSet   video clips [N, 1, T, H, W] with the precomputed teacher embeddings of the chosen
//             teachers: audio (one vector per clip, all-zero when the clip has no audio, the
//             official marker, method.md §2.5) and image (one vector per frame; one frame index
//             t is drawn per mini-batch and used for every clip, as the official code does,
//             method.md §2.7).

#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/nn/tensor.hpp>

#include <cstdint>
#include <tuple>
#include <vector>

namespace table1 {

using ccl::Index;
using Matrix = ccl::RowMatrix<float>;

// Pixel statistics of Fashion-MNIST, used for every grey input (images and clip frames).
inline constexpr float pixel_mean = 0.2860f;
inline constexpr float pixel_std = 0.3530f;

inline float normalise_pixel(std::uint8_t v) { return (float(v) / 255.0f - pixel_mean) / pixel_std; }

template <class Input, class... Teachers>
struct Batch {
  Input input;
  std::vector<std::int64_t> labels;
  std::tuple<Teachers...> teacher_inputs;
};

class ImageSet {
 public:
  explicit ImageSet(const ccl::data::LabelledImages& images) : images_(images) {}
  Index size() const { return images_.count; }
  Batch<ccl::nn::Tensor<float, 4>> load(const std::vector<Index>& indices) const {
    const Index h = images_.height, w = images_.width;
    Batch<ccl::nn::Tensor<float, 4>> batch{ccl::nn::Tensor<float, 4>({Index(indices.size()), 1, h, w}), {}, {}};
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const std::uint8_t* src = images_.image(indices[r]);
      float* dst = batch.input.data() + Index(r) * h * w;
      for (Index k = 0; k < h * w; ++k) dst[k] = normalise_pixel(src[k]);
      batch.labels.push_back(images_.labels[std::size_t(indices[r])]);
    }
    return batch;
  }

 private:
  const ccl::data::LabelledImages& images_;
};

class AudioSet {
 public:
  explicit AudioSet(const ccl::data::LabelledAudio& audio) : audio_(audio) {}
  Index size() const { return audio_.count; }
  Batch<ccl::nn::Tensor<float, 3>> load(const std::vector<Index>& indices) const {
    const Index m = audio_.mel_bins, f = audio_.frames;
    Batch<ccl::nn::Tensor<float, 3>> batch{ccl::nn::Tensor<float, 3>({Index(indices.size()), m, f}), {}, {}};
    for (std::size_t r = 0; r < indices.size(); ++r) {
      std::copy(audio_.item(indices[r]), audio_.item(indices[r]) + m * f,
                batch.input.data() + Index(r) * m * f);
      batch.labels.push_back(audio_.labels[std::size_t(indices[r])]);
    }
    return batch;
  }

 private:
  const ccl::data::LabelledAudio& audio_;
};

/// Which teachers a run distils from (Table 1's columns, plus the no-distillation baseline).
enum class Mode { none, audio, image, both };

inline const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::none: return "-";
    case Mode::audio: return "A";
    case Mode::image: return "I";
    case Mode::both: return "AI";
  }
  return "?";
}

/// Teacher embeddings of the clips: audio [N, D] (zero rows = no audio), image frames [N*T, D].
struct ClipTeachers {
  Matrix audio;
  Matrix image_frames;
};

template <Mode M>
class ClipSet {
 public:
  ClipSet(const ccl::data::ClipSet& clips, const ClipTeachers& teachers, std::uint64_t seed)
      : clips_(clips), teachers_(teachers), frame_rng_(seed) {}

  Index size() const { return clips_.count; }

  auto load(const std::vector<Index>& indices) const {
    const Index n = Index(indices.size());
    const Index t = clips_.frames, h = clips_.height, w = clips_.width;
    ccl::nn::Tensor<float, 5> input({n, 1, t, h, w});
    std::vector<std::int64_t> labels;
    for (Index r = 0; r < n; ++r) {
      const std::uint8_t* src = clips_.clip(indices[std::size_t(r)]);
      float* dst = input.data() + r * t * h * w;
      for (Index k = 0; k < t * h * w; ++k) dst[k] = normalise_pixel(src[k]);
      labels.push_back(clips_.labels[std::size_t(indices[std::size_t(r)])]);
    }
    if constexpr (M == Mode::none) {
      return Batch<ccl::nn::Tensor<float, 5>>{std::move(input), std::move(labels), {}};
    } else if constexpr (M == Mode::audio) {
      return Batch<ccl::nn::Tensor<float, 5>, Matrix>{std::move(input), std::move(labels),
                                                      {audio_rows(indices)}};
    } else if constexpr (M == Mode::image) {
      return Batch<ccl::nn::Tensor<float, 5>, Matrix>{std::move(input), std::move(labels),
                                                      {image_rows(indices)}};
    } else {
      return Batch<ccl::nn::Tensor<float, 5>, Matrix, Matrix>{
          std::move(input), std::move(labels), {audio_rows(indices), image_rows(indices)}};
    }
  }

 private:
  Matrix audio_rows(const std::vector<Index>& indices) const {
    Matrix out(Index(indices.size()), teachers_.audio.cols());
    for (std::size_t r = 0; r < indices.size(); ++r) out.row(Index(r)) = teachers_.audio.row(indices[r]);
    return out;
  }
  Matrix image_rows(const std::vector<Index>& indices) const {
    const Index frame = frame_rng_.index(clips_.frames);  // one t per mini-batch
    Matrix out(Index(indices.size()), teachers_.image_frames.cols());
    for (std::size_t r = 0; r < indices.size(); ++r) {
      out.row(Index(r)) = teachers_.image_frames.row(indices[r] * clips_.frames + frame);
    }
    return out;
  }

  const ccl::data::ClipSet& clips_;
  const ClipTeachers& teachers_;
  mutable ccl::Rng frame_rng_;
};

}  // namespace table1
