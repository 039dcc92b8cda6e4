#pragma once
// Batches of UCF51 for the Table 1 protocol on real data (method.md §2, §5): student clips as an
// nn::Tensor<float, 5> [N, 3, T, S, S] with labels, the audio teacher's feature per clip and,
// when the layout has them, the image teacher's feature of one frame of each clip.
//
//   training_batch    one random clip per video (clip_pipeline.hpp); the image frame t ~ U{0..T−1}
//                     is drawn once per batch (§2.7: the same t for every sample) and the image
//                     feature of clip k is row frames_k[t] − 1 of its per-frame file
//   validation_clips  ≤ 3 evenly spaced centre-cropped clips of one video (clip-level accuracy);
//                     evaluation batches carry the audio feature but no image features
//   test_windows      consecutive windows of one video; the video's prediction is the mean of the
//                     windows' softmax (video_scores)
//
// Videos are opened per call; a batch of 16 clips decodes about 16 × 16 JPEG frames, which is
// the cost: the random choices are drawn serially first (so a seed gives the same batch for any
// thread count), then the clips are decoded and transformed with ccl::parallel_for — on
// num_threads() threads when the program is built with OpenMP (ccl::set_num_threads), serially
// otherwise. HDF5 reads are serialised (hdf5_video.hpp); decoding is not.

#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/teacher_features.hpp>
#include <ccl/data/ucf51_layout.hpp>
#include <ccl/data/video/clip_pipeline.hpp>
#include <ccl/data/video/video_frames.hpp>
#include <ccl/nn/tensor.hpp>

#include <cmath>
#include <cstdint>
#include <exception>
#include <vector>

namespace ccl::data {

struct ClipBatch {
  nn::Tensor<float, 5> clips;              // [N, 3, T, S, S], normalised
  std::vector<std::int32_t> labels;        // N
  RowMatrix<float> audio;                  // [N, 512]; an all-zero row = missing audio
  std::vector<std::uint8_t> audio_missing; // N
  RowMatrix<float> image;                  // [N, 512] image-teacher features; empty without them
  Index image_frame = -1;                  // t in [0, T): the clip frame the image teacher sees
  std::vector<Index> videos;               // N: positions in Ucf51Layout::videos()
  std::vector<ClipAugmentation> clips_drawn;  // N: frames (1-based), crop, flip of each clip
};

class Ucf51Dataset {
 public:
  /// Keeps a reference to `layout`, which must outlive the dataset (hence no temporaries).
  explicit Ucf51Dataset(const Ucf51Layout& layout, ClipOptions options = {})
      : layout_(layout), options_(options) {
    detail::check_clip_options(options_);
  }
  explicit Ucf51Dataset(Ucf51Layout&&, ClipOptions = {}) = delete;

  const Ucf51Layout& layout() const { return layout_; }
  const ClipOptions& options() const { return options_; }

  /// One augmented training clip per entry of `videos` (positions in layout().videos()).
  ClipBatch training_batch(const std::vector<Index>& videos, Rng& rng) const {
    require(!videos.empty(), "Ucf51Dataset::training_batch: no videos");
    const bool images = layout_.has_image_features();
    const Index n = Index(videos.size());
    ClipBatch batch = empty_batch(n, images);
    if (images) batch.image_frame = rng.index(options_.frames);
    std::vector<VideoFrames> sources;
    sources.reserve(videos.size());
    for (Index k = 0; k < n; ++k) {
      sources.emplace_back(at(videos[std::size_t(k)]).video);
      const auto [height, width] = sources.back().frame_size(1);
      batch.clips_drawn.push_back(
          draw_training_clip(sources.back().frame_count(), height, width, options_, rng));
      fill_teachers(batch, k, videos[std::size_t(k)], sources.back(), &rng);
    }
    for_each_clip(n, [&](Index k) {
      write_training_clip(sources[std::size_t(k)], batch.clips_drawn[std::size_t(k)], options_,
                          batch.clips, k);
    });
    return batch;
  }

  /// The validation clips of one video (TemporalEvenCrop, centre crop): up to 3 rows.
  ClipBatch validation_clips(Index video) const {
    const VideoFrames frames(at(video).video);
    return evaluation_batch(video, frames,
                            validation_clip_indices(frames.frame_count(), options_.frames,
                                                    options_.validation_clips));
  }

  /// The test windows of one video (SlidingWindow, centre crop).
  ClipBatch test_windows(Index video) const {
    const VideoFrames frames(at(video).video);
    return evaluation_batch(
        video, frames,
        test_window_indices(frames.frame_count(), options_.frames, options_.test_stride));
  }

 private:
  const Ucf51Video& at(Index video) const {
    require(video >= 0 && video < Index(layout_.videos().size()), "Ucf51Dataset: video ", video,
            " out of range [0, ", layout_.videos().size(), ")");
    return layout_.videos()[std::size_t(video)];
  }

  // body(k) for k in [0, n) on ccl's threads; the error of the first failing clip is rethrown
  // (a parallel_for body must not throw).
  template <class Body>
  static void for_each_clip(Index n, Body&& body) {
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
    parallel_for(0, n, [&](Index k, int) {
      try {
        body(k);
      } catch (...) {
        errors[std::size_t(k)] = std::current_exception();
      }
    });
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  ClipBatch empty_batch(Index n, bool images) const {
    ClipBatch batch;
    batch.clips.resize({n, 3, options_.frames, options_.size, options_.size});
    batch.audio.resize(n, layout_.options().feature_dim);
    if (images) batch.image.resize(n, layout_.options().feature_dim);
    return batch;
  }

  void fill_teachers(ClipBatch& batch, Index k, Index position, const VideoFrames& frames,
                     Rng* rng) const {
    const Ucf51Video& video = at(position);
    batch.videos.push_back(position);
    batch.labels.push_back(video.label);
    batch.audio.row(k) = layout_.audio_feature(video, rng).transpose();
    batch.audio_missing.push_back(
        is_missing_feature(batch.audio.row(k).data(), batch.audio.cols()) ? 1 : 0);
    if (batch.image_frame >= 0) {
      const RowMatrix<float> image = layout_.image_features(video, frames.frame_count());
      const Index frame = batch.clips_drawn[std::size_t(k)].frames[std::size_t(batch.image_frame)];
      batch.image.row(k) = image.row(frame - 1);
    }
  }

  ClipBatch evaluation_batch(Index video, const VideoFrames& frames,
                             const std::vector<FrameIndices>& clips) const {
    // Evaluation scores the student alone (method.md §5), so no image-teacher features.
    ClipBatch batch = empty_batch(Index(clips.size()), false);
    for (std::size_t k = 0; k < clips.size(); ++k) {
      batch.clips_drawn.push_back(ClipAugmentation{clips[k], CropBox{}, false});
      fill_teachers(batch, Index(k), video, frames, nullptr);
    }
    for_each_clip(Index(clips.size()), [&](Index k) {
      write_evaluation_clip(frames, clips[std::size_t(k)], options_, batch.clips, k);
    });
    return batch;
  }

  const Ucf51Layout& layout_;
  ClipOptions options_;
};

/// The video-level scores of the official final test: the mean over windows of the softmax of
/// each window's logits ([W, classes] -> [classes]).
inline Vector<float> video_scores(const RowMatrix<float>& window_logits) {
  require(window_logits.rows() > 0 && window_logits.cols() > 0,
          "video_scores: need at least one window of logits, got ", window_logits.rows(), "x",
          window_logits.cols());
  Vector<double> mean = Vector<double>::Zero(window_logits.cols());
  for (Index w = 0; w < window_logits.rows(); ++w) {
    const auto row = window_logits.row(w).cast<double>();
    const double top = row.maxCoeff();
    require(std::isfinite(top), "video_scores: window ", w, " has non-finite logits");
    const Eigen::RowVectorXd e = (row.array() - top).exp().matrix();
    mean += (e / e.sum()).transpose();
  }
  return (mean / double(window_logits.rows())).cast<float>();
}

}  // namespace ccl::data
