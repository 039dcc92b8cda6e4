#pragma once
// Builds the tri-modal benchmark (benchmark.hpp) from Fashion-MNIST and espeak-ng speech,
// deterministically for a seed: every random choice comes from ccl::Rng streams derived from
// the seed, and speech is synthesised in fresh child processes (speech.hpp), so the same config
// gives a byte-identical cache. Construction and sizes are documented in docs/data.md.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/data/audio_features.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/data/benchmark_cache.hpp>
#include <ccl/data/clip_render.hpp>
#include <ccl/data/fashion_mnist.hpp>
#include <ccl/data/speech.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ccl::data {

using ProgressFn = std::function<void(const std::string&)>;

/// What each class's name sounds like (Fashion-MNIST order).
inline std::vector<std::string> benchmark_spoken_names() {
  return {"T-shirt", "trouser", "pullover", "dress", "coat",
          "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
}

/// Words that name no class, spoken on "distractor_word" clips.
inline const std::vector<std::string>& benchmark_distractor_words() {
  static const std::vector<std::string> words = {
      "hello",  "river",   "seven",  "music",   "window", "apple",  "guitar",
      "thunder", "bicycle", "garden", "pencil",  "orange", "yellow", "mountain",
      "coffee", "planet",  "rabbit", "doctor",  "camera", "piano"};
  return words;
}

/// espeak-ng English voices and variants. Variants with index % 5 == 4 are held out of the audio
/// teacher's training utterances and used for its test set, so its test accuracy measures
/// generalisation to unheard voices.
inline const std::vector<std::string>& benchmark_languages() {
  static const std::vector<std::string> languages = {
      "en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
      "en-gb-x-gbcwmd"};
  return languages;
}

inline const std::vector<std::string>& benchmark_variants() {
  static const std::vector<std::string> variants = {
      "m1",     "m2",     "m3",     "m4",      "m5",    "m6",     "m7",    "m8",
      "f1",     "f2",     "f3",     "f4",      "f5",    "croak",  "klatt", "klatt2",
      "klatt3", "klatt4", "whisper", "Andy",   "Annie", "Denis",  "Gene",  "Jacky",
      "Lee",    "Mario",  "Michael", "Storm",  "Tweaky", "adam",  "aunty", "belinda",
      "boris",  "david",  "ed",      "edward", "grandma", "grandpa", "john", "linda",
      "max",    "norbert", "paul",   "quincy", "rob",   "robert", "steph", "travis",
      "victor", "zac"};
  return variants;
}

namespace detail {

// Independent random streams per purpose, so e.g. changing the number of utterances does not
// change the clips' motion.
inline Rng benchmark_stream(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return Rng(z ^ (z >> 31));
}

enum class VoicePool { train, test, all };

inline SpeechRequest random_speech(Rng& rng, const std::string& text, VoicePool pool) {
  const auto& languages = benchmark_languages();
  const auto& variants = benchmark_variants();
  Index variant = 0;
  for (;;) {
    variant = rng.index(Index(variants.size()));
    const bool held_out = variant % 5 == 4;
    if (pool == VoicePool::all || held_out == (pool == VoicePool::test)) break;
  }
  SpeechRequest request;
  request.text = text;
  request.voice = languages[std::size_t(rng.index(Index(languages.size())))] + "+" +
                  variants[std::size_t(variant)];
  request.rate = int(110 + rng.index(111));  // 110–220 words per minute
  request.pitch = int(20 + rng.index(61));   // 20–80
  request.range = int(20 + rng.index(71));   // 20–90
  return request;
}

// A melody of 3–6 notes (220–880 Hz, two harmonics, attack/decay envelope) at 16 kHz.
inline std::vector<float> synth_melody(Rng& rng, int rate) {
  std::vector<float> wave;
  const Index notes = 3 + rng.index(4);
  for (Index n = 0; n < notes; ++n) {
    const double frequency = 220.0 * std::pow(2.0, double(rng.index(25)) / 12.0);
    const auto length = Index(rate * rng.uniform(0.08, 0.25));
    for (Index i = 0; i < length; ++i) {
      const double t = double(i) / rate;
      const double envelope = std::min(1.0, t / 0.01) * std::exp(-3.0 * t);
      wave.push_back(float(envelope * (std::sin(2 * audio_pi * frequency * t) +
                                       0.3 * std::sin(4 * audio_pi * frequency * t))));
    }
  }
  return wave;
}

// 1–3 bursts of one-pole low-passed white noise.
inline std::vector<float> synth_noise(Rng& rng, int rate) {
  std::vector<float> wave;
  const Index bursts = 1 + rng.index(3);
  const double pole = rng.uniform(0.0, 0.95);
  double state = 0;
  for (Index b = 0; b < bursts; ++b) {
    const auto length = Index(rate * rng.uniform(0.1, 0.3));
    for (Index i = 0; i < length; ++i) {
      state = pole * state + (1 - pole) * rng.normal();
      const double envelope = std::sin(audio_pi * double(i) / double(length));
      wave.push_back(float(envelope * state));
    }
    wave.insert(wave.end(), std::size_t(rate * rng.uniform(0.02, 0.1)), 0.0f);
  }
  return wave;
}

// Trims silence, then places the sound at a random offset in a fixed-length window (cropping at
// a random point when longer), scales its peak to 0.3–0.9 and adds faint white noise.
inline std::vector<float> place_sound(const std::vector<float>& sound, Index samples, Rng& rng) {
  float peak = 0;
  for (float x : sound) peak = std::max(peak, std::abs(x));
  Index first = 0, last = Index(sound.size());
  if (peak > 0) {
    while (first < last && std::abs(sound[std::size_t(first)]) < 0.02f * peak) ++first;
    while (last > first && std::abs(sound[std::size_t(last - 1)]) < 0.02f * peak) --last;
  }
  const Index length = last - first;
  const double gain = peak > 0 ? rng.uniform(0.3, 0.9) / peak : 0.0;
  std::vector<float> out(std::size_t(samples), 0.0f);
  const Index crop = length > samples ? rng.index(length - samples + 1) : 0;
  const Index offset = length < samples ? rng.index(samples - length + 1) : 0;
  for (Index i = 0; i < std::min(length, samples); ++i)
    out[std::size_t(offset + i)] = float(gain * sound[std::size_t(first + crop + i)]);
  const double noise = rng.uniform(0.001, 0.01);
  for (float& x : out) x = float(x + noise * rng.normal());
  return out;
}

// One audio item to produce: speech (text != "") or a melody/noise, or nothing.
struct AudioJob {
  AudioKind kind = AudioKind::matching;
  SpeechRequest speech;
  std::int32_t word_label = -1;
};

// Produces log-mel features of every job into `out` (count × mel × frames), synthesising speech
// in batches of 512 utterances (one child process each).
inline void render_audio_jobs(const std::vector<AudioJob>& jobs, const BenchmarkConfig& config,
                              Rng& rng, LabelledAudio& out, const ProgressFn& progress,
                              const std::string& what) {
  const LogMelSpectrogram log_mel(config.log_mel);
  out.count = Index(jobs.size());
  out.mel_bins = config.mel_bins();
  out.frames = config.mel_frames();
  const std::size_t item = std::size_t(out.mel_bins * out.frames);
  out.features.assign(jobs.size() * item, 0.0f);
  out.labels.resize(jobs.size());
  const std::size_t batch = 512;
  for (std::size_t start = 0; start < jobs.size(); start += batch) {
    const std::size_t end = std::min(jobs.size(), start + batch);
    std::vector<SpeechRequest> requests;
    for (std::size_t j = start; j < end; ++j)
      if (!jobs[j].speech.text.empty()) requests.push_back(jobs[j].speech);
    SpeechBatch speech;
    if (!requests.empty()) speech = synthesize_speech(requests);
    std::size_t next = 0;
    for (std::size_t j = start; j < end; ++j) {
      out.labels[j] = jobs[j].word_label;
      if (jobs[j].kind == AudioKind::missing) continue;  // all-zero features
      std::vector<float> sound;
      if (!jobs[j].speech.text.empty()) {
        const auto& samples = speech.utterances[next++];
        sound.resize(samples.size());
        for (std::size_t i = 0; i < samples.size(); ++i) sound[i] = float(samples[i]) / 32768.0f;
        sound = resample(sound, speech.sample_rate, config.log_mel.sample_rate);
      } else if (jobs[j].kind == AudioKind::melody) {
        sound = synth_melody(rng, config.log_mel.sample_rate);
      } else {
        sound = synth_noise(rng, config.log_mel.sample_rate);
      }
      const auto features = log_mel(place_sound(sound, config.audio_samples, rng));
      std::copy(features.begin(), features.end(), out.features.begin() + std::ptrdiff_t(j * item));
    }
    if (progress)
      progress(what + ": " + std::to_string(end) + "/" + std::to_string(jobs.size()) + " audio items");
  }
}

}  // namespace detail

/// Builds the benchmark from the Fashion-MNIST files in `fashion_mnist_dir`.
inline TriModalBenchmark build_benchmark(const BenchmarkConfig& config,
                                         const std::filesystem::path& fashion_mnist_dir =
                                             default_fashion_mnist_dir(),
                                         const ProgressFn& progress = {}) {
  config.validate();
  require(speech_supported(), "build_benchmark: needs libespeak-ng: link ccl::data_extras");
  const LabelledImages train = load_fashion_mnist(fashion_mnist_dir, true);
  const LabelledImages test = load_fashion_mnist(fashion_mnist_dir, false);
  if (progress) progress("read Fashion-MNIST: " + std::to_string(train.count) + " train, " +
                         std::to_string(test.count) + " test images");
  const int classes = 10;
  TriModalBenchmark b;
  b.config = config;
  for (const auto& name : fashion_mnist_classes()) b.class_names.push_back(name);
  b.spoken_names = benchmark_spoken_names();

  const auto copy_images = [](const LabelledImages& from, const std::vector<Index>& items) {
    LabelledImages to;
    to.count = Index(items.size());
    to.height = from.height;
    to.width = from.width;
    const std::size_t size = std::size_t(from.height * from.width);
    for (Index i : items) {
      to.pixels.insert(to.pixels.end(), from.image(i), from.image(i) + size);
      to.labels.push_back(from.labels[std::size_t(i)]);
    }
    return to;
  };

  // 1. The image teacher's training items: all of Fashion-MNIST's training set, or a random
  //    subset kept in file order.
  Rng image_rng = detail::benchmark_stream(config.seed, 1);
  std::vector<Index> train_items(std::size_t(train.count));
  for (Index i = 0; i < train.count; ++i) train_items[std::size_t(i)] = i;
  if (config.image_train_count < train.count) {
    image_rng.shuffle(train_items);
    train_items.resize(std::size_t(config.image_train_count));
    std::sort(train_items.begin(), train_items.end());
  }
  b.image_train = copy_images(train, train_items);

  // 2. Fashion-MNIST's test items, per class, shuffled: the first ones become training clips,
  //    then test clips, then the image teacher's test set. None was seen by the image teacher.
  std::vector<std::vector<Index>> by_class(classes);
  for (Index i = 0; i < test.count; ++i) by_class[std::size_t(test.labels[std::size_t(i)])].push_back(i);
  Rng split_rng = detail::benchmark_stream(config.seed, 2);
  std::vector<Index> clip_train_items, clip_test_items, image_test_items;
  for (auto& items : by_class) {
    require(Index(items.size()) >= config.train_clips_per_class + config.test_clips_per_class +
                                       config.image_test_per_class,
            "build_benchmark: a Fashion-MNIST class has only ", items.size(), " test items");
    split_rng.shuffle(items);
    auto at = items.begin();
    clip_train_items.insert(clip_train_items.end(), at, at + config.train_clips_per_class);
    at += config.train_clips_per_class;
    clip_test_items.insert(clip_test_items.end(), at, at + config.test_clips_per_class);
    at += config.test_clips_per_class;
    image_test_items.insert(image_test_items.end(), at, at + config.image_test_per_class);
  }
  split_rng.shuffle(image_test_items);
  b.image_test = copy_images(test, image_test_items);

  // 3. The audio teacher's utterances: each class name, random voice, speed and pitch; test
  //    utterances use held-out voice variants.
  const auto spoken = benchmark_spoken_names();
  Rng audio_rng = detail::benchmark_stream(config.seed, 3);
  for (const bool is_train : {true, false}) {
    const int per_class = is_train ? config.audio_train_per_class : config.audio_test_per_class;
    std::vector<detail::AudioJob> jobs;
    for (int c = 0; c < classes; ++c)
      for (int i = 0; i < per_class; ++i) {
        detail::AudioJob job;
        job.speech = detail::random_speech(audio_rng, spoken[std::size_t(c)],
                                           is_train ? detail::VoicePool::train
                                                    : detail::VoicePool::test);
        job.word_label = c;
        jobs.push_back(job);
      }
    audio_rng.shuffle(jobs);
    detail::render_audio_jobs(jobs, config, audio_rng, is_train ? b.audio_train : b.audio_test,
                              progress, is_train ? "audio_train" : "audio_test");
  }

  // 4. The clips, with their audio tracks: per class, exactly round(fraction × n) clips get
  //    unrelated audio and round(missing × n) no audio; the rest say their class name.
  Rng clip_rng = detail::benchmark_stream(config.seed, 4);
  Rng clip_audio_rng = detail::benchmark_stream(config.seed, 5);
  for (const bool is_train : {true, false}) {
    const auto& items = is_train ? clip_train_items : clip_test_items;
    const int per_class = is_train ? config.train_clips_per_class : config.test_clips_per_class;
    const auto unrelated = Index(std::lround(config.unrelated_fraction * per_class));
    const auto missing = std::min<Index>(Index(std::lround(config.missing_fraction * per_class)),
                                         per_class - unrelated);
    std::vector<detail::AudioJob> jobs(items.size());
    for (int c = 0; c < classes; ++c) {
      std::vector<AudioKind> kinds(std::size_t(per_class), AudioKind::matching);
      for (Index i = 0; i < unrelated; ++i)
        kinds[std::size_t(i)] = AudioKind(1 + clip_audio_rng.index(4));  // the four unrelated kinds
      for (Index i = unrelated; i < unrelated + missing; ++i) kinds[std::size_t(i)] = AudioKind::missing;
      clip_audio_rng.shuffle(kinds);
      for (int i = 0; i < per_class; ++i) {
        detail::AudioJob& job = jobs[std::size_t(c * per_class + i)];
        job.kind = kinds[std::size_t(i)];
        if (job.kind == AudioKind::matching) {
          job.word_label = c;
        } else if (job.kind == AudioKind::other_class) {
          job.word_label = std::int32_t((c + 1 + clip_audio_rng.index(classes - 1)) % classes);
        }
        if (job.word_label >= 0) {
          job.speech = detail::random_speech(clip_audio_rng, spoken[std::size_t(job.word_label)],
                                             detail::VoicePool::all);
        } else if (job.kind == AudioKind::distractor_word) {
          const auto& words = benchmark_distractor_words();
          job.speech = detail::random_speech(
              clip_audio_rng, words[std::size_t(clip_audio_rng.index(Index(words.size())))],
              detail::VoicePool::all);
        }
      }
    }
    // Interleave the classes: one random order for clips and their audio.
    std::vector<Index> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = Index(i);
    clip_rng.shuffle(order);
    ClipSet& set = is_train ? b.clips_train : b.clips_test;
    set.count = Index(items.size());
    set.frames = config.frames;
    set.height = config.height;
    set.width = config.width;
    const std::size_t clip_size = std::size_t(config.frames * config.height * config.width);
    set.video.assign(items.size() * clip_size, 0);
    std::vector<detail::AudioJob> ordered_jobs;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Index item = items[std::size_t(order[k])];
      const ClipMotion motion = random_motion(clip_rng, config.frames, config.height, config.width,
                                              config.occlusion_probability);
      render_clip(test.image(item), 28, 28, motion, config.frames, config.height, config.width,
                  clip_rng, set.video.data() + k * clip_size);
      set.labels.push_back(test.labels[std::size_t(item)]);
      set.source_item.push_back(std::int32_t(item));
      set.audio_kind.push_back(jobs[std::size_t(order[k])].kind);
      ordered_jobs.push_back(jobs[std::size_t(order[k])]);
    }
    detail::render_audio_jobs(ordered_jobs, config, clip_audio_rng, set.audio, progress,
                              is_train ? "clips_train" : "clips_test");
  }
  validate(b, "build_benchmark");
  return b;
}

/// Loads the cache at `path` when it exists and was built with `config`; otherwise builds the
/// benchmark and writes the cache (atomically). A corrupt cache is an error, not silently
/// replaced: delete it (or pass a new path) to rebuild.
inline TriModalBenchmark load_or_build_benchmark(const BenchmarkConfig& config,
                                                 const std::filesystem::path& path,
                                                 const std::filesystem::path& fashion_mnist_dir =
                                                     default_fashion_mnist_dir(),
                                                 const ProgressFn& progress = {}) {
  if (std::filesystem::exists(path)) {
    TriModalBenchmark cached = load_benchmark(path);
    if (cached.config == config) {
      if (progress) progress("loaded the benchmark cache " + path.string());
      return cached;
    }
    if (progress) progress("the cache " + path.string() + " was built with another config: rebuilding");
  }
  TriModalBenchmark built = build_benchmark(config, fashion_mnist_dir, progress);
  save_benchmark(path, built);
  if (progress) progress("wrote the benchmark cache " + path.string());
  return built;
}

}  // namespace ccl::data
