#pragma once
// From a video to the student's input tensor: the official training augmentation and the
// evaluation transform (method.md §2.6, §5), writing clips into an nn::Tensor<float, 5> batch
// [N, 3, T, S, S] (C×T×H×W per clip, the layout of the R(2+1)D student).
//
//   training   T frames from training_clip_indices; one RandomResizedCrop box and one flip
//              decision for all frames of the clip; PIL bilinear resize of the box to S×S;
//              flip with p = 0.5; x/255; (x − mean)/std with the Kinetics statistics
//   evaluation Resize(S) of the short side, CenterCrop(S), the same scaling and normalisation
//              (validation: 3 evenly spaced clips; test: consecutive windows)
//
// The random draws of one clip, in order: the temporal start, the crop (random_resized_crop_box),
// the flip — all from the caller's ccl::Rng, so a seed gives the same clip. ClipAugmentation
// records them, so a clip can be re-rendered or shown.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/video/frame.hpp>
#include <ccl/data/video/spatial_transforms.hpp>
#include <ccl/data/video/temporal_sampling.hpp>
#include <ccl/data/video/video_frames.hpp>
#include <ccl/nn/tensor.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

namespace ccl::data {

struct ClipOptions {
  Index frames = 16;  // sample_duration
  Index size = 112;   // sample_size: clips are size × size
  RandomResizedCropOptions crop{};
  double flip_probability = 0.5;
  // Kinetics statistics of the official mean.py (method.md §2.6), for [0, 1] pixels.
  std::array<float, 3> mean{0.4345f, 0.4051f, 0.3775f};
  std::array<float, 3> std{0.2768f, 0.2713f, 0.2737f};
  Index validation_clips = 3;  // n_val_samples
  Index test_stride = 0;       // SlidingWindow stride; 0 = frames (the official 16)
};

/// The random choices behind one training clip.
struct ClipAugmentation {
  FrameIndices frames;  // 1-based, loop-padded to ClipOptions::frames
  CropBox crop;
  bool flip = false;
};

namespace detail {

inline void check_clip_options(const ClipOptions& options) {
  require(options.frames >= 1 && options.size >= 1, "ClipOptions: frames (", options.frames,
          ") and size (", options.size, ") must be positive");
  require(options.flip_probability >= 0 && options.flip_probability <= 1,
          "ClipOptions: flip_probability must lie in [0, 1], got ", options.flip_probability);
  for (float s : options.std) require(s > 0, "ClipOptions: std must be positive, got ", s);
}

// The checked slot of clip `item` in a [N, 3, T, S, S] batch.
inline float* clip_slot(nn::Tensor<float, 5>& batch, Index item, const ClipOptions& options) {
  const auto expected = nn::Shape<5>{batch.dim(0), 3, options.frames, options.size, options.size};
  require(batch.shape() == expected && item >= 0 && item < batch.dim(0), "clip batch: tensor ",
          batch.shape_string(), " has no slot ", item, " for clips of shape [3, ", options.frames,
          ", ", options.size, ", ", options.size, "]");
  return batch.data() + item * 3 * options.frames * options.size * options.size;
}

// Decodes each distinct frame of `indices` once (loop padding repeats frames).
inline std::map<Index, RgbFrame> decode_frames(const VideoFrames& video, const FrameIndices& indices) {
  std::map<Index, RgbFrame> frames;
  for (Index index : indices)
    if (frames.find(index) == frames.end()) {
      RgbFrame frame = video.frame(index);
      if (!frames.empty()) {
        const RgbFrame& first = frames.begin()->second;
        require(frame.height == first.height && frame.width == first.width, "video '",
                video.path().string(), "': frame ", index, " is ", frame.height, "x", frame.width,
                " but frame ", frames.begin()->first, " is ", first.height, "x", first.width);
      }
      frames.emplace(index, std::move(frame));
    }
  return frames;
}

// Writes one S×S RGB frame as time step t of a clip slot: x/255, then (x − mean)/std.
inline void write_normalised(const RgbFrame& frame, Index t, float* slot, const ClipOptions& options) {
  const Index plane = options.size * options.size;
  for (Index c = 0; c < 3; ++c) {
    float* out = slot + (c * options.frames + t) * plane;
    const float mean = options.mean[std::size_t(c)], std = options.std[std::size_t(c)];
    for (Index p = 0; p < plane; ++p)
      out[p] = (float(frame.pixels[std::size_t(p * 3 + c)]) / 255.0f - mean) / std;
  }
}

}  // namespace detail

/// Draws the random choices of a training clip for a video of `frames` frames of
/// height × width pixels.
inline ClipAugmentation draw_training_clip(Index frames, Index height, Index width,
                                           const ClipOptions& options, Rng& rng) {
  detail::check_clip_options(options);
  ClipAugmentation clip;
  clip.frames = training_clip_indices(frames, options.frames, rng);
  clip.crop = random_resized_crop_box(height, width, rng, options.crop);
  clip.flip = rng.uniform() < options.flip_probability;
  return clip;
}

/// Renders a training clip with the given choices into slot `item` of `batch`.
inline void write_training_clip(const VideoFrames& video, const ClipAugmentation& clip,
                                const ClipOptions& options, nn::Tensor<float, 5>& batch,
                                Index item) {
  detail::check_clip_options(options);
  require(Index(clip.frames.size()) == options.frames, "write_training_clip: ",
          clip.frames.size(), " frame indices for clips of ", options.frames, " frames");
  float* slot = detail::clip_slot(batch, item, options);
  const auto decoded = detail::decode_frames(video, clip.frames);
  std::map<Index, RgbFrame> rendered;
  for (const auto& [index, frame] : decoded) {
    RgbFrame out = resize_bilinear(crop(frame, clip.crop), options.size, options.size);
    if (clip.flip) flip_horizontal(out);
    rendered.emplace(index, std::move(out));
  }
  for (Index t = 0; t < options.frames; ++t)
    detail::write_normalised(rendered.at(clip.frames[std::size_t(t)]), t, slot, options);
}

/// Draws and renders a random training clip of `video` into slot `item`; returns the choices.
inline ClipAugmentation sample_training_clip(const VideoFrames& video, const ClipOptions& options,
                                             Rng& rng, nn::Tensor<float, 5>& batch, Index item) {
  // The crop needs the frame size: frame 1's image header gives it without decoding.
  const auto [height, width] = video.frame_size(1);
  const ClipAugmentation clip = draw_training_clip(video.frame_count(), height, width, options, rng);
  write_training_clip(video, clip, options, batch, item);
  return clip;
}

/// Renders an evaluation clip (Resize(size) + CenterCrop(size), no randomness) into slot `item`.
inline void write_evaluation_clip(const VideoFrames& video, const FrameIndices& indices,
                                  const ClipOptions& options, nn::Tensor<float, 5>& batch,
                                  Index item) {
  detail::check_clip_options(options);
  require(Index(indices.size()) == options.frames, "write_evaluation_clip: ", indices.size(),
          " frame indices for clips of ", options.frames, " frames");
  float* slot = detail::clip_slot(batch, item, options);
  const auto decoded = detail::decode_frames(video, indices);
  std::map<Index, RgbFrame> rendered;
  for (const auto& [index, frame] : decoded) {
    const auto [height, width] = short_side_size(frame.height, frame.width, options.size);
    const RgbFrame resized = resize_bilinear(frame, height, width);
    rendered.emplace(index, crop(resized, center_crop_box(height, width, options.size, options.size)));
  }
  for (Index t = 0; t < options.frames; ++t)
    detail::write_normalised(rendered.at(indices[std::size_t(t)]), t, slot, options);
}

/// Undoes the normalisation of time step t of clip `item`: an RGB frame for pictures.
inline RgbFrame clip_frame_to_rgb(const nn::Tensor<float, 5>& batch, Index item, Index t,
                                  const ClipOptions& options) {
  const Index size = batch.dim(3), width = batch.dim(4), frames = batch.dim(2);
  require(batch.dim(1) == 3 && item >= 0 && item < batch.dim(0) && t >= 0 && t < frames,
          "clip_frame_to_rgb: no frame (", item, ", ", t, ") in a tensor ", batch.shape_string());
  RgbFrame out(size, width);
  for (Index c = 0; c < 3; ++c)
    for (Index y = 0; y < size; ++y)
      for (Index x = 0; x < width; ++x) {
        const float value = batch(item, c, t, y, x) * options.std[std::size_t(c)] +
                            options.mean[std::size_t(c)];
        const float pixel = std::round(std::min(1.0f, std::max(0.0f, value)) * 255.0f);
        out.at(y, x, c) = std::uint8_t(pixel);
      }
  return out;
}

}  // namespace ccl::data
