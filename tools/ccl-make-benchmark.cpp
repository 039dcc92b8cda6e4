// ccl-make-benchmark: builds the tri-modal benchmark cache (Fashion-MNIST images, espeak-ng
// speech, synthetic clips; docs/data.md) or checks an existing one.
//
//   ccl-make-benchmark --out benchmark.ccl                 build with the default sizes
//   ccl-make-benchmark --out small.ccl --train-clips-per-class 10 --image-train 2000
//   ccl-make-benchmark --check benchmark.ccl               validate and summarise a cache

#include <ccl/data/benchmark_builder.hpp>

#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

namespace {

void summarise(const ccl::data::TriModalBenchmark& b) {
  const auto& c = b.config;
  std::printf("seed %llu, %zu classes\n", static_cast<unsigned long long>(c.seed),
              b.class_names.size());
  std::printf("image teacher: %lld train, %lld test images (28x28)\n",
              static_cast<long long>(b.image_train.count),
              static_cast<long long>(b.image_test.count));
  std::printf("audio teacher: %lld train, %lld test utterances (log-mel %lldx%lld, 16 kHz, %.2f s)\n",
              static_cast<long long>(b.audio_train.count),
              static_cast<long long>(b.audio_test.count),
              static_cast<long long>(b.audio_train.mel_bins),
              static_cast<long long>(b.audio_train.frames), c.audio_samples / 16000.0);
  for (const auto* set : {&b.clips_train, &b.clips_test}) {
    std::array<int, ccl::data::audio_kind_count> kinds{};
    for (auto kind : set->audio_kind) ++kinds[std::size_t(kind)];
    std::printf("%s clips: %lld of %lldx%lldx%lld;", set == &b.clips_train ? "train" : "test",
                static_cast<long long>(set->count), static_cast<long long>(set->frames),
                static_cast<long long>(set->height), static_cast<long long>(set->width));
    for (int k = 0; k < ccl::data::audio_kind_count; ++k)
      std::printf(" %s %d", ccl::data::to_string(ccl::data::AudioKind(k)), kinds[std::size_t(k)]);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Build or check the ccl tri-modal benchmark cache (docs/data.md)"};
  ccl::data::BenchmarkConfig config;
  std::string out = "ccl-benchmark.ccl";
  std::string check;
  std::string fashion = ccl::data::default_fashion_mnist_dir().string();
  bool force = false, quiet = false;
  int size = config.height;
  app.add_option("--out,-o", out, "cache file to write (reused when it matches the options)")
      ->capture_default_str();
  app.add_option("--check", check, "validate an existing cache and print its summary");
  app.add_option("--fashion-mnist", fashion, "directory of the Fashion-MNIST .gz files")
      ->capture_default_str();
  app.add_option("--seed", config.seed, "random seed")->capture_default_str();
  app.add_option("--frames", config.frames, "frames per clip")->capture_default_str();
  app.add_option("--size", size, "clip height and width in pixels")->capture_default_str();
  app.add_option("--train-clips-per-class", config.train_clips_per_class)->capture_default_str();
  app.add_option("--test-clips-per-class", config.test_clips_per_class)->capture_default_str();
  app.add_option("--audio-train-per-class", config.audio_train_per_class)->capture_default_str();
  app.add_option("--audio-test-per-class", config.audio_test_per_class)->capture_default_str();
  app.add_option("--image-train", config.image_train_count,
                 "Fashion-MNIST training images for the image teacher (max 60000)")
      ->capture_default_str();
  app.add_option("--image-test-per-class", config.image_test_per_class)->capture_default_str();
  app.add_option("--unrelated-fraction", config.unrelated_fraction,
                 "fraction of each class's clips with unrelated audio")
      ->capture_default_str();
  app.add_option("--missing-fraction", config.missing_fraction,
                 "fraction of each class's clips without audio")
      ->capture_default_str();
  app.add_option("--occlusion", config.occlusion_probability, "probability of an occluding bar")
      ->capture_default_str();
  app.add_flag("--force", force, "rebuild even when the cache matches");
  app.add_flag("--quiet,-q", quiet, "no progress messages");
  CLI11_PARSE(app, argc, argv);
  config.height = config.width = size;

  try {
    const auto start = std::chrono::steady_clock::now();
    const auto progress = [&](const std::string& message) {
      if (quiet) return;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "[%6.1f s] %s\n", seconds, message.c_str());
    };
    if (!check.empty()) {
      const auto b = ccl::data::load_benchmark(check);
      std::printf("%s: valid cache, %llu bytes\n", check.c_str(),
                  static_cast<unsigned long long>(std::filesystem::file_size(check)));
      summarise(b);
      return 0;
    }
    if (force && std::filesystem::exists(out)) std::filesystem::remove(out);
    const auto b = ccl::data::load_or_build_benchmark(config, out, fashion, progress);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %llu bytes in %.1f s\n", out.c_str(),
                static_cast<unsigned long long>(std::filesystem::file_size(out)), seconds);
    summarise(b);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ccl-make-benchmark: %s\n", e.what());
    return 1;
  }
  return 0;
}
