#pragma once
// Which frames make a clip: the official temporal transforms (method.md §2.6 and §5), ported
// line by line from the official temporal_transforms.py so that the edge cases agree. Frame
// numbers are 1-based; a video with n frames has the frame list [1, ..., n].
//
//   training_clip_indices     TemporalRandomCrop: start b ~ U{0, ..., max(0, n − L − 1)} (the
//                             −1 is the official code's: the last possible start is never
//                             drawn), frames b+1 .. min(b+L, n), loop-padded to L
//   validation_clip_indices   TemporalEvenCrop(L, 3): starts every ⌈(n − 1 − L)/(k − 1)⌉ frames
//                             (at least 1), at most k clips; a clip cut short by the end is
//                             loop-padded and ends the list, so short videos give fewer clips
//   test_window_indices       SlidingWindow(L, stride): consecutive windows, the last one
//                             loop-padded (and the list ends there)
//   loop_pad                  LoopPadding: re-append the clip's own frames in order until it has L
//                             ([1, 2, 3] -> [1, 2, 3, 1, 2] for L = 5)

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ccl::data {

using FrameIndices = std::vector<Index>;

/// Repeats `indices` cyclically until it holds `length` entries (a longer list is unchanged, as
/// in the official LoopPadding).
inline FrameIndices loop_pad(FrameIndices indices, Index length) {
  require(!indices.empty() || length <= 0, "loop_pad: cannot pad an empty clip to ", length,
          " frames");
  for (std::size_t k = 0; Index(indices.size()) < length; ++k) indices.push_back(indices[k]);
  return indices;
}

namespace detail {

inline void check_clip_request(const char* what, Index frames, Index length) {
  require(frames >= 1, what, ": the video has ", frames, " frames; need at least 1");
  require(length >= 1, what, ": the clip length must be positive, got ", length);
}

// range(begin, end) of the official code, 1-based frame numbers.
inline FrameIndices frame_range(Index begin, Index end) {
  FrameIndices out;
  for (Index i = begin; i < end; ++i) out.push_back(i);
  return out;
}

}  // namespace detail

/// The number of possible starts of a training clip: max(0, n − L − 1) + 1.
inline Index training_start_count(Index frames, Index length) {
  return std::max<Index>(0, frames - length - 1) + 1;
}

/// The frames of a training clip starting at 0-based offset `start` (TemporalRandomCrop).
inline FrameIndices training_clip_at(Index frames, Index length, Index start) {
  detail::check_clip_request("training_clip_at", frames, length);
  require(start >= 0 && start < training_start_count(frames, length), "training_clip_at: start ",
          start, " out of range [0, ", training_start_count(frames, length) - 1, "] for ", frames,
          " frames and clips of ", length);
  const Index end = std::min(start + length, frames);
  return loop_pad(detail::frame_range(start + 1, end + 1), length);
}

/// A random training clip (method.md §2.6): one draw from `rng` for the start.
inline FrameIndices training_clip_indices(Index frames, Index length, Rng& rng) {
  detail::check_clip_request("training_clip_indices", frames, length);
  return training_clip_at(frames, length, rng.index(training_start_count(frames, length)));
}

/// The validation clips of a video (TemporalEvenCrop(length, samples)), at most `samples`.
inline std::vector<FrameIndices> validation_clip_indices(Index frames, Index length,
                                                         Index samples = 3) {
  detail::check_clip_request("validation_clip_indices", frames, length);
  require(samples >= 1, "validation_clip_indices: need at least one clip, got ", samples);
  // The official stride divides by samples − 1 (a ZeroDivisionError for one clip); one clip
  // simply starts at the first frame here.
  Index stride = 1;
  if (samples > 1)
    stride = std::max<Index>(
        1, Index(std::ceil(double(frames - 1 - length) / double(samples - 1))));
  std::vector<FrameIndices> clips;
  for (Index begin = 1; begin <= frames; begin += stride) {
    if (Index(clips.size()) >= samples) break;
    FrameIndices clip = detail::frame_range(begin, std::min(frames + 1, begin + length));
    if (Index(clip.size()) < length) {
      clips.push_back(loop_pad(std::move(clip), length));
      break;
    }
    clips.push_back(std::move(clip));
  }
  return clips;
}

/// The test windows of a video (SlidingWindow(length, stride); stride 0 means `length`).
inline std::vector<FrameIndices> test_window_indices(Index frames, Index length, Index stride = 0) {
  detail::check_clip_request("test_window_indices", frames, length);
  require(stride >= 0, "test_window_indices: negative stride ", stride);
  if (stride == 0) stride = length;
  std::vector<FrameIndices> windows;
  for (Index begin = 1; begin <= frames; begin += stride) {
    FrameIndices window = detail::frame_range(begin, std::min(frames + 1, begin + length));
    if (Index(window.size()) < length) {
      windows.push_back(loop_pad(std::move(window), length));
      break;
    }
    windows.push_back(std::move(window));
  }
  return windows;
}

}  // namespace ccl::data
