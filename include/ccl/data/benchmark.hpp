#pragma once
// The tri-modal benchmark: the data types and the configuration. The benchmark reproduces the
// *protocol* of the paper's Table 1 on data a fresh machine can build (docs/data.md):
//
//   image teacher  Fashion-MNIST training images (plenty: 60,000)
//   audio teacher  the class names spoken by espeak-ng with many voices (thousands)
//   video student  a few hundred short clips of held-out Fashion-MNIST items moving, zooming and
//                  occluded, each with an audio track: the spoken class name, or — the semantic
//                  gap of the paper — unrelated audio (another class's name, another word, a
//                  melody, noise), or no audio at all (all-zero features, the official marker).
//
// Construction: benchmark_builder.hpp. On-disk cache: benchmark_cache.hpp.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/audio_features.hpp>
#include <ccl/data/fashion_mnist.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ccl::data {

/// What a clip's audio track holds. Only `matching` carries the clip's class.
enum class AudioKind : std::uint8_t {
  matching = 0,         // the clip's class name, spoken
  other_class = 1,      // another class's name, spoken (misleads the audio teacher)
  distractor_word = 2,  // a word that names no class
  melody = 3,           // a synthetic melody
  noise = 4,            // filtered noise bursts
  missing = 5,          // no audio: all-zero features
};
inline constexpr int audio_kind_count = 6;

inline const char* to_string(AudioKind kind) {
  switch (kind) {
    case AudioKind::matching: return "matching";
    case AudioKind::other_class: return "other_class";
    case AudioKind::distractor_word: return "distractor_word";
    case AudioKind::melody: return "melody";
    case AudioKind::noise: return "noise";
    case AudioKind::missing: return "missing";
  }
  return "?";
}

inline bool is_unrelated(AudioKind kind) {
  return kind != AudioKind::matching && kind != AudioKind::missing;
}

struct BenchmarkConfig {
  std::uint64_t seed = 1;
  // Video clips: frames × height × width grey pixels.
  int frames = 8;
  int height = 32;
  int width = 32;
  int train_clips_per_class = 40;  // the data-limited student: 400 training clips
  int test_clips_per_class = 100;  // 1,000 test clips
  // Audio teacher data: utterances of the class names (test uses held-out voice variants).
  int audio_train_per_class = 300;
  int audio_test_per_class = 100;
  // Image teacher data: Fashion-MNIST training items (<= 60,000) and held-out test items.
  int image_train_count = 60000;
  int image_test_per_class = 200;
  // The semantic gap: fractions of each class's clips with unrelated / no audio.
  double unrelated_fraction = 0.3;
  double missing_fraction = 0.1;
  double occlusion_probability = 0.5;
  // Audio: audio_samples at 16 kHz, then log-mel features.
  int audio_samples = 16000;
  LogMelOptions log_mel{};

  /// Upper bound of the utterances per class (a hostile cache cannot size allocations by it).
  static constexpr int max_utterances_per_class = 100000;

  Index mel_bins() const { return log_mel.mel_bins; }
  Index mel_frames() const { return LogMelSpectrogram(log_mel).frames(audio_samples); }

  void validate() const {
    require(frames >= 1 && frames <= 64, "BenchmarkConfig: frames must be in [1, 64], got ", frames);
    require(height >= 8 && height <= 256 && width >= 8 && width <= 256,
            "BenchmarkConfig: height and width must be in [8, 256], got ", height, "x", width);
    // Every count is bounded before any arithmetic on it: a config can come from a hostile
    // cache file, and the sums and products below must neither overflow nor size allocations.
    require(train_clips_per_class >= 1 && test_clips_per_class >= 1 &&
                train_clips_per_class <= 1000 && test_clips_per_class <= 1000,
            "BenchmarkConfig: train and test clips per class must be in [1, 1000], got ",
            train_clips_per_class, " and ", test_clips_per_class);
    require(audio_train_per_class >= 1 && audio_test_per_class >= 1 &&
                audio_train_per_class <= max_utterances_per_class &&
                audio_test_per_class <= max_utterances_per_class,
            "BenchmarkConfig: train and test utterances per class must be in [1, ",
            max_utterances_per_class, "], got ", audio_train_per_class, " and ",
            audio_test_per_class);
    require(image_train_count >= 1 && image_train_count <= 60000,
            "BenchmarkConfig: image_train_count must be in [1, 60000], got ", image_train_count);
    require(image_test_per_class >= 1 && image_test_per_class <= 1000,
            "BenchmarkConfig: image_test_per_class must be in [1, 1000], got ",
            image_test_per_class);
    // Fashion-MNIST's test set has 1,000 items per class; clips and the image test set are
    // drawn from it without repetition.
    require(train_clips_per_class + test_clips_per_class + image_test_per_class <= 1000,
            "BenchmarkConfig: train + test clips + image test items per class must be <= 1000 "
            "(Fashion-MNIST test items per class), got ",
            train_clips_per_class + test_clips_per_class + image_test_per_class);
    require(unrelated_fraction >= 0 && missing_fraction >= 0 &&
                unrelated_fraction + missing_fraction <= 1,
            "BenchmarkConfig: unrelated_fraction and missing_fraction must be >= 0 with a sum "
            "<= 1, got ", unrelated_fraction, " and ", missing_fraction);
    require(occlusion_probability >= 0 && occlusion_probability <= 1,
            "BenchmarkConfig: occlusion_probability must be in [0, 1], got ",
            occlusion_probability);
    require(log_mel.sample_rate == 16000, "BenchmarkConfig: the audio rate is 16 kHz, got ",
            log_mel.sample_rate);
    require(audio_samples >= log_mel.n_fft && audio_samples <= 160000,
            "BenchmarkConfig: audio_samples must be in [n_fft, 160000], got ", audio_samples);
    LogMelSpectrogram check(log_mel);  // validates the log-mel options
    (void)check;
  }
};

inline bool operator==(const BenchmarkConfig& a, const BenchmarkConfig& b) {
  const auto& x = a.log_mel;
  const auto& y = b.log_mel;
  return a.seed == b.seed && a.frames == b.frames && a.height == b.height && a.width == b.width &&
         a.train_clips_per_class == b.train_clips_per_class &&
         a.test_clips_per_class == b.test_clips_per_class &&
         a.audio_train_per_class == b.audio_train_per_class &&
         a.audio_test_per_class == b.audio_test_per_class &&
         a.image_train_count == b.image_train_count &&
         a.image_test_per_class == b.image_test_per_class &&
         a.unrelated_fraction == b.unrelated_fraction && a.missing_fraction == b.missing_fraction &&
         a.occlusion_probability == b.occlusion_probability &&
         a.audio_samples == b.audio_samples && x.sample_rate == y.sample_rate &&
         x.n_fft == y.n_fft && x.hop == y.hop && x.mel_bins == y.mel_bins &&
         x.f_min == y.f_min && x.f_max == y.f_max && x.floor == y.floor;
}
inline bool operator!=(const BenchmarkConfig& a, const BenchmarkConfig& b) { return !(a == b); }

/// Log-mel features with labels: features row-major [count, mel_bins, frames].
struct LabelledAudio {
  Index count = 0, mel_bins = 0, frames = 0;
  std::vector<float> features;
  std::vector<std::int32_t> labels;

  const float* item(Index i) const {
    return features.data() + std::size_t(i * mel_bins * frames);
  }
};

/// Per-mel-band mean and standard deviation over every frame of the non-missing (not all-zero)
/// items: the usual input standardisation of an audio CNN (compute it on the teacher's training
/// set and apply it everywhere; missing items should stay all zero).
struct BandStatistics {
  std::vector<float> mean, stddev;
};

inline BandStatistics band_statistics(const LabelledAudio& audio) {
  require(audio.count > 0 && audio.mel_bins > 0 && audio.frames > 0,
          "band_statistics: empty audio set (", audio.count, " items of ", audio.mel_bins, "x",
          audio.frames, ")");
  const std::size_t item = std::size_t(audio.mel_bins * audio.frames);
  std::vector<double> sum(std::size_t(audio.mel_bins), 0.0), square(sum);
  Index present = 0;
  for (Index i = 0; i < audio.count; ++i) {
    const float* x = audio.item(i);
    bool all_zero = true;
    for (std::size_t k = 0; k < item && all_zero; ++k) all_zero = x[k] == 0.0f;
    if (all_zero) continue;
    ++present;
    for (Index m = 0; m < audio.mel_bins; ++m)
      for (Index t = 0; t < audio.frames; ++t) {
        const double v = x[std::size_t(m * audio.frames + t)];
        sum[std::size_t(m)] += v;
        square[std::size_t(m)] += v * v;
      }
  }
  require(present > 0, "band_statistics: every one of the ", audio.count,
          " items is missing (all zero)");
  BandStatistics stats;
  const double n = double(present) * double(audio.frames);
  for (Index m = 0; m < audio.mel_bins; ++m) {
    const double mean = sum[std::size_t(m)] / n;
    const double variance = std::max(0.0, square[std::size_t(m)] / n - mean * mean);
    stats.mean.push_back(float(mean));
    stats.stddev.push_back(float(std::sqrt(variance) + 1e-6));
  }
  return stats;
}

/// Video clips with their audio tracks.
struct ClipSet {
  Index count = 0, frames = 0, height = 0, width = 0;
  std::vector<std::uint8_t> video;   // [count, frames, height, width]
  std::vector<std::int32_t> labels;  // the visual class
  LabelledAudio audio;               // audio.labels: class of the spoken word, -1 if none
  std::vector<AudioKind> audio_kind;
  std::vector<std::int32_t> source_item;  // index of the item in the Fashion-MNIST test set

  const std::uint8_t* clip(Index i) const {
    return video.data() + std::size_t(i * frames * height * width);
  }
};

struct TriModalBenchmark {
  BenchmarkConfig config;
  std::vector<std::string> class_names;   // Fashion-MNIST's names
  std::vector<std::string> spoken_names;  // what the speech says for each class
  LabelledImages image_train, image_test;
  LabelledAudio audio_train, audio_test;
  ClipSet clips_train, clips_test;
};

/// Checks that every array has the size its counts and the config imply and that labels and
/// kinds are in range; ccl::error naming `source` and the first inconsistency otherwise.
inline void validate(const TriModalBenchmark& b, const std::string& source) {
  const BenchmarkConfig& c = b.config;
  const Index classes = Index(b.class_names.size());
  require(classes >= 2 && Index(b.spoken_names.size()) == classes, "'", source,
          "': inconsistent class lists (", b.class_names.size(), " names, ",
          b.spoken_names.size(), " spoken names)");
  const auto labels_ok = [&](const std::vector<std::int32_t>& labels, Index count, bool allow_none,
                             const char* what) {
    require(Index(labels.size()) == count, "'", source, "': ", what, " has ", labels.size(),
            " labels for ", count, " items");
    for (std::size_t i = 0; i < labels.size(); ++i)
      require((labels[i] >= 0 || (allow_none && labels[i] == -1)) && labels[i] < classes, "'",
              source, "': ", what, " label ", labels[i], " of item ", i, " is out of range");
  };
  const auto images_ok = [&](const LabelledImages& s, Index count, const char* what) {
    require(s.count == count && s.height == 28 && s.width == 28 &&
                s.pixels.size() == std::size_t(count * 28 * 28),
            "'", source, "': ", what, " holds ", s.count, " images of ", s.height, "x", s.width,
            " in ", s.pixels.size(), " bytes, expected ", count, " of 28x28");
    labels_ok(s.labels, count, false, what);
  };
  const auto audio_ok = [&](const LabelledAudio& s, Index count, bool allow_none,
                            const char* what) {
    require(s.count == count && s.mel_bins == c.mel_bins() && s.frames == c.mel_frames() &&
                s.features.size() == std::size_t(count * s.mel_bins * s.frames),
            "'", source, "': ", what, " holds ", s.count, " items of ", s.mel_bins, "x", s.frames,
            " in ", s.features.size(), " floats, expected ", count, " of ", c.mel_bins(), "x",
            c.mel_frames());
    labels_ok(s.labels, count, allow_none, what);
  };
  const auto clips_ok = [&](const ClipSet& s, Index count, const char* what) {
    require(s.count == count && s.frames == c.frames && s.height == c.height &&
                s.width == c.width &&
                s.video.size() == std::size_t(count * c.frames * c.height * c.width),
            "'", source, "': ", what, " holds ", s.count, " clips of ", s.frames, "x", s.height,
            "x", s.width, " in ", s.video.size(), " bytes, expected ", count, " of ", c.frames,
            "x", c.height, "x", c.width);
    labels_ok(s.labels, count, false, what);
    audio_ok(s.audio, count, true, what);
    require(Index(s.audio_kind.size()) == count && Index(s.source_item.size()) == count, "'",
            source, "': ", what, " has ", s.audio_kind.size(), " audio kinds and ",
            s.source_item.size(), " source items for ", count, " clips");
    for (std::size_t i = 0; i < s.audio_kind.size(); ++i)
      require(int(s.audio_kind[i]) < audio_kind_count, "'", source, "': ", what,
              " clip ", i, " has an invalid audio kind ", int(s.audio_kind[i]));
  };
  images_ok(b.image_train, c.image_train_count, "image_train");
  images_ok(b.image_test, classes * c.image_test_per_class, "image_test");
  audio_ok(b.audio_train, classes * c.audio_train_per_class, false, "audio_train");
  audio_ok(b.audio_test, classes * c.audio_test_per_class, false, "audio_test");
  clips_ok(b.clips_train, classes * c.train_clips_per_class, "clips_train");
  clips_ok(b.clips_test, classes * c.test_clips_per_class, "clips_test");
}

}  // namespace ccl::data
