#pragma once
// A small, fully consistent TriModalBenchmark with arbitrary contents and no data files: for the
// benchmark-cache tests and as the seed of the cache fuzzer (tests/fuzz/).

#include <ccl/core/rng.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/data/benchmark_builder.hpp>
#include <ccl/data/fashion_mnist.hpp>

namespace ccl::test {

inline ccl::data::TriModalBenchmark fake_benchmark() {
  using namespace ccl::data;
  using ccl::Index;
  TriModalBenchmark b;
  BenchmarkConfig& c = b.config;
  c.seed = 42;
  c.frames = 3;
  c.height = c.width = 8;
  c.train_clips_per_class = 2;
  c.test_clips_per_class = 1;
  c.audio_train_per_class = 2;
  c.audio_test_per_class = 1;
  c.image_train_count = 5;
  c.image_test_per_class = 1;
  c.audio_samples = 1024;
  for (const auto& name : fashion_mnist_classes()) b.class_names.push_back(name);
  b.spoken_names = benchmark_spoken_names();
  ccl::Rng rng(7);
  const auto images = [&](Index count) {
    LabelledImages s;
    s.count = count;
    s.height = s.width = 28;
    for (Index i = 0; i < count * 28 * 28; ++i) s.pixels.push_back(std::uint8_t(rng.index(256)));
    for (Index i = 0; i < count; ++i) s.labels.push_back(std::int32_t(i % 10));
    return s;
  };
  const auto audio = [&](Index count) {
    LabelledAudio s;
    s.count = count;
    s.mel_bins = c.mel_bins();
    s.frames = c.mel_frames();
    for (Index i = 0; i < count * s.mel_bins * s.frames; ++i)
      s.features.push_back(float(rng.normal()));
    for (Index i = 0; i < count; ++i) s.labels.push_back(std::int32_t(i % 10));
    return s;
  };
  const auto clips = [&](Index count) {
    ClipSet s;
    s.count = count;
    s.frames = c.frames;
    s.height = c.height;
    s.width = c.width;
    for (Index i = 0; i < count * c.frames * c.height * c.width; ++i)
      s.video.push_back(std::uint8_t(rng.index(256)));
    for (Index i = 0; i < count; ++i) {
      s.labels.push_back(std::int32_t(i % 10));
      s.audio_kind.push_back(AudioKind(i % audio_kind_count));
      s.source_item.push_back(std::int32_t(100 + i));
    }
    s.audio = audio(count);
    s.audio.labels[0] = -1;
    return s;
  };
  b.image_train = images(5);
  b.image_test = images(10);
  b.audio_train = audio(20);
  b.audio_test = audio(10);
  b.clips_train = clips(20);
  b.clips_test = clips(10);
  return b;
}

}  // namespace ccl::test
