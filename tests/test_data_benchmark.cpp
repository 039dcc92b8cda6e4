// The tri-modal benchmark (ccl/data/benchmark*.hpp) and its parts: resampling and log-mel
// against naive references, clip rendering, the cache format (round trip and every kind of
// corruption, on an in-memory benchmark that needs no data), and — when Fashion-MNIST and
// espeak-ng are installed — a tiny real build: determinism, the exact audio-kind fractions,
// all-zero missing audio, disjoint items.

#include "support/fake_benchmark.hpp"
#include "support/temp_dir.hpp"
#include <ccl/data/audio_features.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/data/benchmark_builder.hpp>
#include <ccl/data/benchmark_cache.hpp>
#include <ccl/data/clip_render.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using ccl::test::fake_benchmark;

namespace {

constexpr double pi = 3.14159265358979323846;

fs::path temp_file(const std::string& name) { return ccl::test::temp_path(name); }

bool builder_available(std::string& why) {
  if (!ccl::data::speech_supported()) why = "built without libespeak-ng (ccl::data_extras)";
  else if (!ccl::data::gzip_supported()) why = "built without zlib (ccl::data_extras)";
  else if (!ccl::data::fashion_mnist_available())
    why = "Fashion-MNIST not found in " + ccl::data::default_fashion_mnist_dir().string() +
          " (install dataset-fashion-mnist)";
  else return true;
  return false;
}

ccl::data::BenchmarkConfig tiny_config() {
  ccl::data::BenchmarkConfig c;
  c.seed = 5;
  c.train_clips_per_class = 10;
  c.test_clips_per_class = 10;
  c.audio_train_per_class = 3;
  c.audio_test_per_class = 2;
  c.image_train_count = 300;
  c.image_test_per_class = 2;
  return c;
}

}  // namespace

TEST_CASE("resample: a tone keeps its frequency and an out-of-band tone is removed", "[data][audio]") {
  const int in_rate = 22050, out_rate = 16000;
  const auto tone = [](double frequency, int rate, int n) {
    std::vector<float> wave(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) wave[std::size_t(i)] = float(std::sin(2 * pi * frequency * i / rate));
    return wave;
  };
  const auto out = ccl::data::resample(tone(1000, in_rate, 22050), in_rate, out_rate);
  REQUIRE(out.size() == 16000);
  const auto expected = tone(1000, out_rate, 16000);
  double worst = 0;
  for (std::size_t i = 100; i < out.size() - 100; ++i)  // away from the zero-padded edges
    worst = std::max(worst, std::abs(double(out[i]) - expected[i]));
  CHECK(worst < 2e-3);
  // 10 kHz is above the new Nyquist frequency (8 kHz): it must not alias into the output.
  const auto high = ccl::data::resample(tone(10000, in_rate, 22050), in_rate, out_rate);
  double energy = 0;
  for (std::size_t i = 100; i < high.size() - 100; ++i) energy += double(high[i]) * high[i];
  CHECK(std::sqrt(energy / double(high.size() - 200)) < 1e-2);
  CHECK_THROWS_WITH(ccl::data::resample(expected, 0, 16000), Contains("rates must be positive"));
}

TEST_CASE("log-mel: matches a naive DFT and mel filterbank", "[data][audio]") {
  ccl::data::LogMelOptions options;
  options.n_fft = 64;
  options.hop = 32;
  options.mel_bins = 6;
  options.f_max = 8000;
  const ccl::data::LogMelSpectrogram log_mel(options);
  ccl::Rng rng(11);
  std::vector<float> wave(200);
  for (auto& x : wave) x = float(rng.normal(0, 0.3));
  const auto features = log_mel(wave);
  const ccl::Index frames = log_mel.frames(200);
  REQUIRE(frames == 1 + (200 - 64) / 32);
  REQUIRE(features.size() == std::size_t(6 * frames));
  // Naive reference: O(n²) DFT, HTK mel triangles written out again.
  const auto mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
  const auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  for (ccl::Index t = 0; t < frames; ++t) {
    std::vector<double> power(33);
    for (int k = 0; k <= 32; ++k) {
      std::complex<double> sum = 0;
      for (int i = 0; i < 64; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2 * pi * i / 64);
        sum += double(wave[std::size_t(t * 32 + i)]) * w * std::polar(1.0, -2 * pi * k * i / 64);
      }
      power[std::size_t(k)] = std::norm(sum);
    }
    for (int b = 0; b < 6; ++b) {
      const double m0 = mel(20), m1 = mel(8000);
      const double lo = hz(m0 + (m1 - m0) * b / 7), mid = hz(m0 + (m1 - m0) * (b + 1) / 7),
                   hi = hz(m0 + (m1 - m0) * (b + 2) / 7);
      double energy = 0;
      for (int k = 0; k <= 32; ++k) {
        const double f = k * 16000.0 / 64;
        const double w = f > lo && f <= mid ? (f - lo) / (mid - lo) : f > mid && f < hi ? (hi - f) / (hi - mid) : 0;
        energy += w * power[std::size_t(k)];
      }
      CHECK(features[std::size_t(b * frames + t)] == Approx(std::log(energy + 1e-6)).epsilon(1e-5));
    }
  }
  CHECK_THROWS_WITH(log_mel(std::vector<float>(10)), Contains("fewer than n_fft"));
  ccl::data::LogMelOptions bad;
  bad.n_fft = 100;
  CHECK_THROWS_WITH(ccl::data::LogMelSpectrogram(bad), Contains("power of two"));
}

TEST_CASE("clip rendering: exact copy at scale 1, mirror, bounce, occluder", "[data][video]") {
  std::vector<std::uint8_t> item(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) item[std::size_t(i)] = std::uint8_t((i * 13) % 251);
  std::vector<std::uint8_t> frame(32 * 32);
  ccl::data::render_frame(item.data(), 28, 28, 16, 16, 1.0, false, frame.data(), 32, 32);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const bool inside = x >= 2 && x < 30 && y >= 2 && y < 30;
      CHECK(int(frame[std::size_t(y * 32 + x)]) ==
            (inside ? int(item[std::size_t((y - 2) * 28 + x - 2)]) : 0));
    }
  ccl::data::render_frame(item.data(), 28, 28, 16, 16, 1.0, true, frame.data(), 32, 32);
  CHECK(int(frame[5 * 32 + 2]) == int(item[3 * 28 + 27]));
  CHECK(ccl::data::reflect(12.5, 0, 10) == Approx(7.5));
  CHECK(ccl::data::reflect(-3, 0, 10) == Approx(3));
  CHECK(ccl::data::reflect(4, 0, 10) == Approx(4));

  ccl::data::ClipMotion motion;
  motion.x0 = motion.y0 = 16;
  motion.occluded = true;
  motion.bar_x0 = 0;
  motion.bar_width = 4;
  motion.bar_value = 77;
  std::vector<std::uint8_t> clip(3 * 32 * 32);
  ccl::Rng rng(1);
  ccl::data::render_clip(item.data(), 28, 28, motion, 3, 32, 32, rng, clip.data());
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 4; ++x) CHECK(int(clip[std::size_t(y * 32 + x)]) == 77);
  CHECK(int(clip[std::size_t(10 * 32 + 10)]) == int(item[std::size_t(8 * 28 + 8)]));

  // One frame rendered alone equals that frame of the whole clip (same motion, same noise draws
  // when the generator is in the same state): a teacher trained on render_clip_frame sees the
  // clips' exact geometry.
  motion.noise = 5;
  motion.vx = 1.5;
  motion.scale1 = 0.8;
  ccl::Rng whole_rng(3);
  ccl::data::render_clip(item.data(), 28, 28, motion, 3, 32, 32, whole_rng, clip.data());
  for (int t = 0; t < 3; ++t) {
    ccl::Rng frame_rng(3);
    std::vector<std::uint8_t> skipped(32 * 32);
    for (int before = 0; before < t; ++before)  // advance the noise generator as render_clip did
      ccl::data::render_clip_frame(item.data(), 28, 28, motion, before, 3, 32, 32, frame_rng,
                                   skipped.data());
    ccl::data::render_clip_frame(item.data(), 28, 28, motion, t, 3, 32, 32, frame_rng,
                                 frame.data());
    CHECK(std::equal(frame.begin(), frame.end(), clip.begin() + t * 32 * 32));
  }
  CHECK_THROWS_WITH(ccl::data::render_clip_frame(item.data(), 28, 28, motion, 3, 3, 32, 32, rng,
                                                 frame.data()),
                    Contains("frame 3 is outside [0, 3)"));
}

TEST_CASE("benchmark cache: round trip is byte-exact", "[data][cache]") {
  const auto b = fake_benchmark();
  REQUIRE_NOTHROW(ccl::data::validate(b, "fake"));
  const auto bytes = ccl::data::encode_benchmark(b);
  const auto back = ccl::data::decode_benchmark(bytes, "memory");
  CHECK(back.config == b.config);
  CHECK(back.class_names == b.class_names);
  CHECK(back.clips_train.audio_kind == b.clips_train.audio_kind);
  CHECK(back.audio_test.features == b.audio_test.features);
  CHECK(ccl::data::encode_benchmark(back) == bytes);

  const auto path = temp_file("roundtrip.ccl");
  ccl::data::save_benchmark(path, b);
  CHECK_FALSE(fs::exists(fs::path(path.string() + ".partial")));  // the temporary was renamed
  CHECK(ccl::data::encode_benchmark(ccl::data::load_benchmark(path)) == bytes);
  fs::remove(path);
}

TEST_CASE("benchmark cache: corruption is rejected with a clear error", "[data][cache]") {
  const auto bytes = ccl::data::encode_benchmark(fake_benchmark());
  using ccl::data::decode_benchmark;
  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  CHECK_THROWS_WITH(decode_benchmark(flipped, "flip.ccl"),
                    Contains("flip.ccl") && Contains("checksum mismatch"));
  auto truncated = bytes;
  truncated.resize(bytes.size() - 100);
  CHECK_THROWS_WITH(decode_benchmark(truncated, "cut.ccl"), Contains("truncated or padded"));
  auto padded = bytes;
  padded.push_back(0);
  CHECK_THROWS_WITH(decode_benchmark(padded, "pad.ccl"), Contains("truncated or padded"));
  auto magic = bytes;
  magic[0] = 'X';
  CHECK_THROWS_WITH(decode_benchmark(magic, "magic.ccl"), Contains("not a ccl benchmark cache"));
  auto version = bytes;
  version[8] = 2;
  CHECK_THROWS_WITH(decode_benchmark(version, "v2.ccl"), Contains("format version 2"));
  CHECK_THROWS_WITH(decode_benchmark({}, "empty.ccl"), Contains("not a ccl benchmark cache"));
  // A consistent checksum over inconsistent contents (a buggy writer) is caught by validate().
  auto b = fake_benchmark();
  b.clips_train.labels.pop_back();
  CHECK_THROWS_WITH(decode_benchmark(ccl::data::encode_benchmark(b), "bad.ccl"),
                    Contains("clips_train has 19 labels for 20 items"));
  b = fake_benchmark();
  b.config.frames = 0;
  CHECK_THROWS_WITH(decode_benchmark(ccl::data::encode_benchmark(b), "cfg.ccl"),
                    Contains("'cfg.ccl': invalid stored config: BenchmarkConfig: frames"));
  b = fake_benchmark();
  b.audio_train.labels[3] = 10;
  CHECK_THROWS_WITH(ccl::data::validate(b, "x"), Contains("audio_train label 10 of item 3"));
  b = fake_benchmark();
  b.clips_test.audio_kind[0] = ccl::data::AudioKind(9);
  CHECK_THROWS_WITH(ccl::data::validate(b, "x"), Contains("invalid audio kind 9"));
  // load_or_build refuses a corrupt cache instead of silently overwriting it.
  const auto path = temp_file("corrupt.ccl");
  ccl::data::write_file_atomically(path, flipped);
  CHECK_THROWS_WITH(ccl::data::load_or_build_benchmark(fake_benchmark().config, path),
                    Contains("checksum mismatch"));
  fs::remove(path);
}

TEST_CASE("benchmark cache: hostile config fields are errors before any allocation",
          "[data][cache][hostile]") {
  // A cache file is untrusted bytes with a checksum anyone can recompute: every field of the
  // stored config is bounded before it sizes anything (it used to reach int arithmetic in the
  // filter bank, undefined behaviour, and multi-GB allocations ending in std::bad_alloc).
  using ccl::data::decode_benchmark;
  const auto with = [](auto change) {
    auto b = fake_benchmark();
    change(b.config);
    return ccl::data::encode_benchmark(b);
  };
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.mel_bins = 1 << 28; }), "m.ccl"),
                    Contains("'m.ccl': invalid stored config") && Contains("mel_bins must be in"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.mel_bins = 2147483647; }), "m"),
                    Contains("mel_bins must be in [1, 1024]"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.n_fft = 1 << 30; }), "n"),
                    Contains("invalid stored config") && Contains("n_fft"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.n_fft = 1000; }), "n"),
                    Contains("n_fft must be a power of two in [16, 8192]"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.hop = 2147483647; }), "h"),
                    Contains("hop must be in"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.audio_train_per_class = 2147483647; }),
                                     "u"),
                    Contains("utterances per class must be in"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.train_clips_per_class = 2147483647; }),
                                     "c"),
                    Contains("clips per class must be in [1, 1000]"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.image_test_per_class = 2147483647; }),
                                     "i"),
                    Contains("image_test_per_class must be in [1, 1000]"));
  CHECK_THROWS_WITH(decode_benchmark(with([](auto& c) { c.log_mel.floor = 0; }), "f"),
                    Contains("floor must be positive and finite"));
  // Stored set sizes that disagree with the bytes present are errors too, never allocations.
  auto b = fake_benchmark();
  b.audio_train.count = ccl::Index(1) << 62;
  CHECK_THROWS_WITH(decode_benchmark(ccl::data::encode_benchmark(b), "s"),
                    Contains("audio_train holds 4611686018427387904 items"));
  b = fake_benchmark();
  b.clips_test.count = -1;
  CHECK_THROWS_WITH(decode_benchmark(ccl::data::encode_benchmark(b), "s"),
                    Contains("clips_test holds -1 clips"));
  REQUIRE_NOTHROW(decode_benchmark(ccl::data::encode_benchmark(fake_benchmark()), "ok"));
}

TEST_CASE("band statistics: per-band mean/std over non-missing items", "[data][audio]") {
  ccl::data::LabelledAudio audio;
  audio.count = 3;
  audio.mel_bins = 2;
  audio.frames = 2;
  // item 0: band 0 = {1, 3}, band 1 = {2, 2}; item 1: all zero (missing); item 2: {5, 7}, {2, 2}
  audio.features = {1, 3, 2, 2, 0, 0, 0, 0, 5, 7, 2, 2};
  audio.labels = {0, 1, 2};
  const auto stats = ccl::data::band_statistics(audio);
  CHECK(stats.mean[0] == Approx(4.0));
  CHECK(stats.stddev[0] == Approx(std::sqrt(5.0)).epsilon(1e-5));  // values 1, 3, 5, 7
  CHECK(stats.mean[1] == Approx(2.0));
  CHECK(stats.stddev[1] == Approx(1e-6).margin(1e-7));
  audio.features.assign(12, 0.0f);
  CHECK_THROWS_WITH(ccl::data::band_statistics(audio), Contains("every one of the 3 items is missing"));
}

TEST_CASE("benchmark config: invalid values are errors", "[data][config]") {
  ccl::data::BenchmarkConfig c;
  REQUIRE_NOTHROW(c.validate());
  CHECK(c.mel_frames() == 49);
  c.unrelated_fraction = 0.8;
  c.missing_fraction = 0.3;
  CHECK_THROWS_WITH(c.validate(), Contains("sum <= 1"));
  c = {};
  c.test_clips_per_class = 900;
  CHECK_THROWS_WITH(c.validate(), Contains("must be <= 1000"));
  c = {};
  c.image_train_count = 60001;
  CHECK_THROWS_WITH(c.validate(), Contains("image_train_count"));
}

TEST_CASE("benchmark builder: a tiny real build is deterministic and has the exact gap fractions",
          "[data][builder]") {
  std::string why;
  if (!builder_available(why)) {
    WARN("skipped: " << why);
    return;
  }
  const auto config = tiny_config();
  const auto b = ccl::data::build_benchmark(config);
  // Determinism: same seed → identical bytes, even after other synthesis in this process.
  const auto bytes = ccl::data::encode_benchmark(b);
  CHECK(ccl::data::encode_benchmark(ccl::data::build_benchmark(config)) == bytes);
  auto other = config;
  other.seed = 6;
  CHECK(ccl::data::encode_benchmark(ccl::data::build_benchmark(other)) != bytes);

  CHECK(b.image_train.count == 300);
  CHECK(b.audio_train.count == 30);
  CHECK(b.clips_train.count == 100);
  const std::size_t item = std::size_t(b.clips_train.audio.mel_bins * b.clips_train.audio.frames);
  for (const auto* set : {&b.clips_train, &b.clips_test}) {
    // Per class: round(0.3 × 10) = 3 unrelated, round(0.1 × 10) = 1 missing, 6 matching.
    std::vector<int> matching(10), unrelated(10), missing(10);
    for (ccl::Index i = 0; i < set->count; ++i) {
      const auto kind = set->audio_kind[std::size_t(i)];
      const int label = set->labels[std::size_t(i)];
      const int word = set->audio.labels[std::size_t(i)];
      const float* audio = set->audio.item(i);
      const bool all_zero = std::all_of(audio, audio + item, [](float x) { return x == 0.0f; });
      CHECK(all_zero == (kind == ccl::data::AudioKind::missing));
      if (kind == ccl::data::AudioKind::matching) {
        ++matching[std::size_t(label)];
        CHECK(word == label);
      } else if (kind == ccl::data::AudioKind::missing) {
        ++missing[std::size_t(label)];
        CHECK(word == -1);
      } else {
        ++unrelated[std::size_t(label)];
        if (kind == ccl::data::AudioKind::other_class) CHECK((word >= 0 && word != label));
        else CHECK(word == -1);
      }
    }
    CHECK(matching == std::vector<int>(10, 6));
    CHECK(unrelated == std::vector<int>(10, 3));
    CHECK(missing == std::vector<int>(10, 1));
  }
  // Clip items are distinct Fashion-MNIST *test* items (never in the image teacher's training
  // set), and differ between training and test clips.
  std::set<std::int32_t> items(b.clips_train.source_item.begin(), b.clips_train.source_item.end());
  items.insert(b.clips_test.source_item.begin(), b.clips_test.source_item.end());
  CHECK(items.size() == 200);
  // Speech differs between utterances: not two identical audio-teacher items.
  CHECK(std::vector<float>(b.audio_train.item(0), b.audio_train.item(0) + item) !=
        std::vector<float>(b.audio_train.item(1), b.audio_train.item(1) + item));

  // The cache: load_or_build writes it, a second call loads it, a changed config rebuilds.
  const auto path = temp_file("tiny.ccl");
  fs::remove(path);
  const auto first = ccl::data::load_or_build_benchmark(config, path);
  CHECK(ccl::data::read_file(path) == bytes);
  std::vector<std::string> messages;
  const auto again = ccl::data::load_or_build_benchmark(
      config, path, ccl::data::default_fashion_mnist_dir(),
      [&](const std::string& m) { messages.push_back(m); });
  REQUIRE(messages.size() == 1);
  CHECK_THAT(messages[0], Contains("loaded the benchmark cache"));
  fs::remove(path);
}

TEST_CASE("speech: every accent and variant of the benchmark exists in espeak-ng", "[data][speech]") {
  if (!ccl::data::speech_supported()) {
    WARN("skipped: built without libespeak-ng (ccl::data_extras)");
    CHECK_THROWS_WITH(ccl::data::synthesize_speech({}), Contains("no libespeak-ng"));
    return;
  }
  std::vector<ccl::data::SpeechRequest> requests;
  for (const auto& language : ccl::data::benchmark_languages())
    requests.push_back({"coat", language + "+m1", 175, 50, 50});
  for (const auto& variant : ccl::data::benchmark_variants())
    requests.push_back({"coat", "en+" + variant, 175, 50, 50});
  const auto batch = ccl::data::synthesize_speech(requests);
  CHECK(batch.sample_rate == 22050);
  REQUIRE(batch.utterances.size() == requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    INFO(requests[i].voice);
    // "coat" lasts well over 0.1 s in every voice.
    CHECK(batch.utterances[i].size() > 2205);
  }
  // Fresh child processes make synthesis independent of what came before.
  CHECK(ccl::data::synthesize_speech({requests[3]}).utterances[0] ==
        ccl::data::synthesize_speech({requests[3]}).utterances[0]);
  CHECK_THROWS_WITH(ccl::data::synthesize_speech({{"coat", "no-such-voice", 175, 50, 50}}),
                    Contains("no voice 'no-such-voice'"));
}
