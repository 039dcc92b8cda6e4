// Writes the seed corpus of every fuzz harness, made by ccl's own writers (and the test
// fixtures under tests/data/), into OUT_DIR/<harness>/:
//
//   make_fuzz_seeds OUT_DIR [TEST_DATA_DIR]
//
// Seeds are valid files: the fuzzer mutates them into the malformed ones.

#include "fuzz_checkpoint_model.hpp"

#include <ccl/data/gzip.hpp>
#include <ccl/data/npy.hpp>

#include <ccl/data/benchmark_cache.hpp>
#include "support/fake_benchmark.hpp"

#if defined(CCL_FUZZ_VIDEO)
#include <ccl/data/video/image_codec.hpp>
#include "support/hdf5_video_writer.hpp"
#endif

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using ccl::data::Bytes;

namespace {

fs::path out_root;
int written = 0;

void seed(const std::string& harness, const std::string& name, const Bytes& bytes) {
  const fs::path dir = out_root / harness;
  fs::create_directories(dir);
  ccl::data::write_file_atomically(dir / name, bytes);
  ++written;
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

#if defined(CCL_FUZZ_VIDEO)
ccl::data::RgbFrame pattern(ccl::Index height, ccl::Index width, int shift) {
  ccl::data::RgbFrame frame;
  frame.height = height;
  frame.width = width;
  frame.pixels.resize(std::size_t(height * width * 3));
  for (std::size_t i = 0; i < frame.pixels.size(); ++i)
    frame.pixels[i] = std::uint8_t((i * 7 + std::size_t(shift) * 31) % 251);
  return frame;
}
#endif

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR [TEST_DATA_DIR]\n");
    return 2;
  }
  out_root = argv[1];
  const fs::path fixtures = argc > 2 ? fs::path(argv[2]) : fs::path();

  // .npy: our writer (1-D, 2-D) and the NumPy-written fixtures (v1 and v2 headers, float64).
  const std::vector<float> values{1, -2, 0.5f, 3, 0, 7, 1e-3f, -1e3f};
  seed("npy", "vector.npy", ccl::data::encode_npy({8}, values.data()));
  seed("npy", "matrix.npy", ccl::data::encode_npy({2, 4}, values.data()));
  if (!fixtures.empty())
    for (const auto& entry : fs::directory_iterator(fixtures / "npy"))
      seed("npy", entry.path().filename().string(), ccl::data::read_file(entry.path()));

  // IDX, plain and gzipped, and gzip on its own (one member, two members).
  if (!fixtures.empty()) {
    for (const char* name : {"images.idx", "labels.idx"}) {
      const Bytes plain = ccl::data::read_file(fixtures / "idx" / name);
      seed("idx", name, plain);
      if (ccl::data::gzip_supported()) {
        const Bytes packed = ccl::data::gzip_compress(plain);
        seed("idx", std::string(name) + ".gz", packed);
        seed("gzip", std::string(name) + ".gz", packed);
        seed("gzip", std::string(name) + ".twice.gz", concat(packed, packed));
      }
    }
  }
  if (ccl::data::gzip_supported()) {
    seed("gzip", "empty.gz", ccl::data::gzip_compress({}));
    seed("gzip", "zeros.gz", ccl::data::gzip_compress(Bytes(100000, 0), 9));
  }

  // The benchmark cache of a small consistent benchmark.
  seed("benchmark_cache", "fake.ccl", ccl::data::encode_benchmark(ccl::test::fake_benchmark()));

  // A checkpoint of exactly the objects the checkpoint harness binds, before and after a step.
  {
    ccl::fuzz::CheckpointModel model;
    seed("checkpoint", "fresh.ckpt", model.checkpoint.to_bytes());
    model.step = 17;
    model.rng.normal();
    seed("checkpoint", "moved.ckpt", model.checkpoint.to_bytes());
  }

  // Teacher layout: "<file name>\n<.npy bytes>".
  seed("teacher_layout", "vector",
       concat(text("v_ClassA_g01_c02.npy\n"), ccl::data::encode_npy({4}, values.data())));
  seed("teacher_layout", "matrix",
       concat(text("v_classa_g12_c01.npy\n"), ccl::data::encode_npy({2, 4}, values.data())));

#if defined(CCL_FUZZ_VIDEO)
  // Images and HDF5 videos (variable- and fixed-length records) of PNG and JPEG frames.
  const Bytes png = ccl::data::encode_png(pattern(8, 8, 0));
  const Bytes jpeg = ccl::data::encode_jpeg(pattern(16, 16, 1), 90);
  seed("image", "small.png", png);
  seed("image", "small.jpg", jpeg);
  seed("image", "wide.png", ccl::data::encode_png(pattern(3, 17, 2)));
  seed("image", "odd.jpg", ccl::data::encode_jpeg(pattern(9, 13, 3), 50));
  const fs::path video_dir = out_root / "hdf5_video";
  fs::create_directories(video_dir);
  ccl::test::write_vlen_video(video_dir / "vlen.hdf5", {png, jpeg, png});
  ccl::test::write_opaque_video(video_dir / "opaque.hdf5", {jpeg, jpeg}, jpeg.size() + 16);
  written += 2;
#endif
  std::printf("make_fuzz_seeds: %d seed files in %s\n", written, out_root.string().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
  return 1;
}
