#pragma once
// The benchmark's on-disk cache (format version 1; docs/data.md has the full layout).
//
//   bytes 0..7    magic "CCLTRIMB"
//   u32           format version (1)
//   u32           reserved (0)
//   u64           payload size P
//   P bytes       payload: the config, the class names, then the six sets (images, audio, clips)
//   u64           FNV-1a 64 checksum of every byte before it
//
// All integers and floats are little-endian. The checksum is verified before anything is
// parsed, and parsing then checks every size against the config (validate()), so a truncated,
// bit-flipped or hand-edited cache is rejected with an error naming the file. Files are written
// atomically (temporary file + rename).

#include <ccl/core/error.hpp>
#include <ccl/data/benchmark.hpp>
#include <ccl/data/bytes.hpp>

#include <cstring>
#include <filesystem>
#include <string>

namespace ccl::data {

inline constexpr char benchmark_cache_magic[9] = "CCLTRIMB";
inline constexpr std::uint32_t benchmark_cache_version = 1;

namespace detail {

inline void put_string(ByteWriter& out, const std::string& text) {
  out.le32(std::uint32_t(text.size()));
  out.raw(text.data(), text.size());
}

inline std::string get_string(ByteReader& in, const char* what) {
  const std::uint32_t size = in.le32(what);
  const std::uint8_t* data = in.take(size, what);
  return std::string(reinterpret_cast<const char*>(data), size);
}

inline void put_labels(ByteWriter& out, const std::vector<std::int32_t>& labels) {
  out.le64(labels.size());
  for (std::int32_t label : labels) out.le32(std::uint32_t(label));
}

inline std::vector<std::int32_t> get_labels(ByteReader& in, const char* what) {
  const std::uint64_t count = in.le64(what);
  require(count <= in.remaining() / 4, "'", in.source(), "': ", what, " count ", count,
          " exceeds the file");
  std::vector<std::int32_t> labels(count);
  for (auto& label : labels) label = std::int32_t(in.le32(what));
  return labels;
}

inline void put_floats(ByteWriter& out, const std::vector<float>& values) {
  out.le64(values.size());
  for (float value : values) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, 4);
    out.le32(bits);
  }
}

inline std::vector<float> get_floats(ByteReader& in, const char* what) {
  const std::uint64_t count = in.le64(what);
  require(count <= in.remaining() / 4, "'", in.source(), "': ", what, " count ", count,
          " exceeds the file");
  std::vector<float> values(count);
  for (auto& value : values) {
    const std::uint32_t bits = in.le32(what);
    std::memcpy(&value, &bits, 4);
  }
  return values;
}

inline void put_u8s(ByteWriter& out, const std::vector<std::uint8_t>& values) {
  out.le64(values.size());
  out.raw(values.data(), values.size());
}

inline std::vector<std::uint8_t> get_u8s(ByteReader& in, const char* what) {
  const std::uint64_t count = in.le64(what);
  require(count <= in.remaining(), "'", in.source(), "': ", what, " count ", count,
          " exceeds the file");
  const std::uint8_t* data = in.take(count, what);
  return std::vector<std::uint8_t>(data, data + count);
}

inline void put_images(ByteWriter& out, const LabelledImages& s) {
  out.le64(std::uint64_t(s.count));
  out.le32(std::uint32_t(s.height));
  out.le32(std::uint32_t(s.width));
  put_u8s(out, s.pixels);
  put_labels(out, s.labels);
}

inline LabelledImages get_images(ByteReader& in, const char* what) {
  LabelledImages s;
  s.count = Index(in.le64(what));
  s.height = in.le32(what);
  s.width = in.le32(what);
  s.pixels = get_u8s(in, what);
  s.labels = get_labels(in, what);
  return s;
}

inline void put_audio(ByteWriter& out, const LabelledAudio& s) {
  out.le64(std::uint64_t(s.count));
  out.le32(std::uint32_t(s.mel_bins));
  out.le32(std::uint32_t(s.frames));
  put_floats(out, s.features);
  put_labels(out, s.labels);
}

inline LabelledAudio get_audio(ByteReader& in, const char* what) {
  LabelledAudio s;
  s.count = Index(in.le64(what));
  s.mel_bins = in.le32(what);
  s.frames = in.le32(what);
  s.features = get_floats(in, what);
  s.labels = get_labels(in, what);
  return s;
}

inline void put_clips(ByteWriter& out, const ClipSet& s) {
  out.le64(std::uint64_t(s.count));
  out.le32(std::uint32_t(s.frames));
  out.le32(std::uint32_t(s.height));
  out.le32(std::uint32_t(s.width));
  put_u8s(out, s.video);
  put_labels(out, s.labels);
  put_audio(out, s.audio);
  std::vector<std::uint8_t> kinds;
  for (AudioKind kind : s.audio_kind) kinds.push_back(std::uint8_t(kind));
  put_u8s(out, kinds);
  put_labels(out, s.source_item);
}

inline ClipSet get_clips(ByteReader& in, const char* what) {
  ClipSet s;
  s.count = Index(in.le64(what));
  s.frames = in.le32(what);
  s.height = in.le32(what);
  s.width = in.le32(what);
  s.video = get_u8s(in, what);
  s.labels = get_labels(in, what);
  s.audio = get_audio(in, what);
  for (std::uint8_t kind : get_u8s(in, what)) s.audio_kind.push_back(AudioKind(kind));
  s.source_item = get_labels(in, what);
  return s;
}

inline void put_config(ByteWriter& out, const BenchmarkConfig& c) {
  out.le64(c.seed);
  for (int value : {c.frames, c.height, c.width, c.train_clips_per_class, c.test_clips_per_class,
                    c.audio_train_per_class, c.audio_test_per_class, c.image_train_count,
                    c.image_test_per_class, c.audio_samples, c.log_mel.sample_rate,
                    c.log_mel.n_fft, c.log_mel.hop, c.log_mel.mel_bins})
    out.le32(std::uint32_t(value));
  for (double value : {c.unrelated_fraction, c.missing_fraction, c.occlusion_probability,
                       c.log_mel.f_min, c.log_mel.f_max, c.log_mel.floor})
    out.f64(value);
}

inline BenchmarkConfig get_config(ByteReader& in) {
  BenchmarkConfig c;
  c.seed = in.le64("the config");
  for (int* field : {&c.frames, &c.height, &c.width, &c.train_clips_per_class,
                     &c.test_clips_per_class, &c.audio_train_per_class, &c.audio_test_per_class,
                     &c.image_train_count, &c.image_test_per_class, &c.audio_samples,
                     &c.log_mel.sample_rate, &c.log_mel.n_fft, &c.log_mel.hop,
                     &c.log_mel.mel_bins})
    *field = int(std::int32_t(in.le32("the config")));
  for (double* field : {&c.unrelated_fraction, &c.missing_fraction, &c.occlusion_probability,
                        &c.log_mel.f_min, &c.log_mel.f_max, &c.log_mel.floor})
    *field = in.f64("the config");
  return c;
}

}  // namespace detail

/// The cache file's bytes for a benchmark.
inline Bytes encode_benchmark(const TriModalBenchmark& b) {
  ByteWriter payload;
  detail::put_config(payload, b.config);
  payload.le32(std::uint32_t(b.class_names.size()));
  for (std::size_t i = 0; i < b.class_names.size(); ++i) {
    detail::put_string(payload, b.class_names[i]);
    detail::put_string(payload, b.spoken_names[i]);
  }
  detail::put_images(payload, b.image_train);
  detail::put_images(payload, b.image_test);
  detail::put_audio(payload, b.audio_train);
  detail::put_audio(payload, b.audio_test);
  detail::put_clips(payload, b.clips_train);
  detail::put_clips(payload, b.clips_test);

  ByteWriter out;
  out.raw(benchmark_cache_magic, 8);
  out.le32(benchmark_cache_version);
  out.le32(0);
  out.le64(payload.bytes().size());
  out.raw(payload.bytes().data(), payload.bytes().size());
  out.le64(fnv1a64(out.bytes().data(), out.bytes().size()));
  return std::move(out.bytes());
}

/// Decodes and validates cache bytes; `source` names the file in error messages.
inline TriModalBenchmark decode_benchmark(const Bytes& bytes, const std::string& source) {
  require(bytes.size() >= 32 && std::memcmp(bytes.data(), benchmark_cache_magic, 8) == 0, "'",
          source, "': not a ccl benchmark cache (the magic \"CCLTRIMB\" is missing)");
  ByteReader in(bytes, source);
  in.take(8, "the magic");
  const std::uint32_t version = in.le32("the version");
  require(version == benchmark_cache_version, "'", source, "': cache format version ", version,
          " is not supported (this build reads version ", benchmark_cache_version,
          "); rebuild the benchmark");
  in.le32("the reserved field");
  const std::uint64_t payload = in.le64("the payload size");
  require(payload + 32 == bytes.size(), "'", source, "': truncated or padded cache: the header "
          "announces ", payload + 32, " bytes, the file has ", bytes.size());
  std::uint64_t stored = 0;
  for (int i = 7; i >= 0; --i) stored = (stored << 8) | bytes[bytes.size() - 8 + std::size_t(i)];
  require(stored == fnv1a64(bytes.data(), bytes.size() - 8), "'", source,
          "': checksum mismatch: the cache is corrupt; delete it to rebuild");
  TriModalBenchmark b;
  b.config = detail::get_config(in);
  const std::uint32_t classes = in.le32("the class count");
  require(classes >= 2 && classes <= 1000, "'", source, "': implausible class count ", classes);
  for (std::uint32_t i = 0; i < classes; ++i) {
    b.class_names.push_back(detail::get_string(in, "a class name"));
    b.spoken_names.push_back(detail::get_string(in, "a spoken name"));
  }
  b.image_train = detail::get_images(in, "image_train");
  b.image_test = detail::get_images(in, "image_test");
  b.audio_train = detail::get_audio(in, "audio_train");
  b.audio_test = detail::get_audio(in, "audio_test");
  b.clips_train = detail::get_clips(in, "clips_train");
  b.clips_test = detail::get_clips(in, "clips_test");
  require(in.remaining() == 8, "'", source, "': ", in.remaining() - 8,
          " unexpected bytes after the last set");
  try {
    b.config.validate();
  } catch (const error& e) {
    std::string what = e.what();
    if (what.rfind("ccl: ", 0) == 0) what.erase(0, 5);
    throw error(ccl::detail::concat("'", source, "': invalid stored config: ", what));
  }
  validate(b, source);
  return b;
}

inline void save_benchmark(const std::filesystem::path& path, const TriModalBenchmark& b) {
  write_file_atomically(path, encode_benchmark(b));
}

inline TriModalBenchmark load_benchmark(const std::filesystem::path& path) {
  return decode_benchmark(read_file(path), path.string());
}

}  // namespace ccl::data
