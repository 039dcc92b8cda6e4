// The real-video path of ccl/data/ (video/, ucf51_*.hpp): HDF5 videos of JPEG/PNG frames and
// frame directories, the official temporal and spatial transforms, and the UCF51 layout. Built
// only when HDF5, libjpeg-turbo and libpng were found (ccl::data_video). Every fixture is written
// here, with the HDF5 C API and ccl's own encoders, into a temporary directory that the test
// removes; the
// resampling reference values were computed with Pillow 9.4 (Image.resize(..., BILINEAR)).

#include <ccl/core/parallel.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/ucf51_dataset.hpp>
#include <ccl/data/ucf51_layout.hpp>
#include <ccl/data/ucf51_loader.hpp>
#include <ccl/data/video/clip_pipeline.hpp>
#include <ccl/data/video/hdf5_video.hpp>
#include <ccl/data/video/image_codec.hpp>
#include <ccl/data/video/spatial_transforms.hpp>
#include <ccl/data/video/temporal_sampling.hpp>
#include <ccl/data/video/video_frames.hpp>
#include <ccl/io/crc32.hpp>

#include "support/hdf5_video_writer.hpp"

#include <catch2/catch.hpp>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using ccl::Index;
using ccl::data::Bytes;
using ccl::test::write_opaque_video;
using ccl::test::write_vlen_video;
using ccl::data::FrameIndices;
using ccl::data::RgbFrame;

namespace {

static_assert(ccl::data::hdf5_supported() && ccl::data::image_codec_supported(),
              "test_data_video is built only with ccl::data_video's HDF5 and image codecs");

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device device;
    path = fs::temp_directory_path() /
           ("ccl-test-video-" + std::to_string(device()) + "-" + std::to_string(device()));
    fs::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A frame whose every pixel differs: exact checks need PNG.
RgbFrame pattern(Index height, Index width, int seed) {
  RgbFrame frame(height, width);
  for (Index y = 0; y < height; ++y)
    for (Index x = 0; x < width; ++x)
      for (Index c = 0; c < 3; ++c)
        frame.at(y, x, c) = std::uint8_t((y * 7 + x * 13 + c * 50 + seed * 11) % 256);
  return frame;
}

// A smooth frame (JPEG compresses it with small errors).
RgbFrame smooth(Index height, Index width, int seed) {
  RgbFrame frame(height, width);
  for (Index y = 0; y < height; ++y)
    for (Index x = 0; x < width; ++x)
      for (Index c = 0; c < 3; ++c)
        frame.at(y, x, c) = std::uint8_t(x * 4 + y * 2 + c * 30 + seed * 10);
  return frame;
}

RgbFrame constant(Index height, Index width, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  RgbFrame frame(height, width);
  for (Index p = 0; p < height * width; ++p) {
    frame.pixels[std::size_t(p * 3)] = r;
    frame.pixels[std::size_t(p * 3 + 1)] = g;
    frame.pixels[std::size_t(p * 3 + 2)] = b;
  }
  return frame;
}

Bytes png_bytes(const RgbFrame& frame) { return ccl::data::encode_png(frame); }

Bytes jpeg_bytes(const RgbFrame& frame) { return ccl::data::encode_jpeg(frame, 95); }

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A `video` dataset of floats: the wrong type.
void write_float_video(const fs::path& path) {
  const hid_t file = H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t count = 3;
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t dataset = H5Dcreate2(file, "video", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT);
  const float values[3] = {1, 2, 3};
  H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(dataset);
  H5Sclose(space);
  H5Fclose(file);
}

std::vector<Bytes> png_frames(Index count, Index height, Index width) {
  std::vector<Bytes> frames;
  for (Index i = 0; i < count; ++i) frames.push_back(png_bytes(pattern(height, width, int(i))));
  return frames;
}

void write_frame_dir(const fs::path& dir, Index count, Index height, Index width) {
  fs::create_directories(dir);
  for (Index i = 1; i <= count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "image_%05d.png", int(i));
    write_bytes(dir / name, png_bytes(pattern(height, width, int(i - 1))));
  }
}

bool same_pixels(const RgbFrame& a, const RgbFrame& b) {
  return a.height == b.height && a.width == b.width && a.pixels == b.pixels;
}

// The official temporal transforms, re-typed from temporal_transforms.py with Python's list
// semantics (an independent reference for ccl's port).
std::vector<Index> py_loop(std::vector<Index> out, Index size) {
  for (std::size_t k = 0; k < out.size(); ++k) {  // `for index in out` sees appended items
    if (Index(out.size()) >= size) break;
    out.push_back(out[k]);
  }
  return out;
}

std::vector<Index> py_random_crop(Index n, Index size, Index begin) {
  std::vector<Index> all;
  for (Index i = 1; i <= n; ++i) all.push_back(i);
  const Index end = std::min(begin + size, n);
  std::vector<Index> out(all.begin() + begin, all.begin() + end);
  return Index(out.size()) < size ? py_loop(out, size) : out;
}

}  // namespace

TEST_CASE("HDF5 video: PNG frames decode to the written pixels, frames are 1-based",
          "[data][video]") {
  TempDir dir;
  const fs::path path = dir.path / "v_Test_g01_c01.hdf5";
  const auto frames = png_frames(5, 6, 9);
  write_vlen_video(path, frames);

  ccl::data::Hdf5Video video(path);
  CHECK(video.frame_count() == 5);
  CHECK(video.storage() == ccl::data::Hdf5Video::Storage::variable_length);
  CHECK(video.frame_bytes(1) == frames[0]);  // frame i is element i − 1
  CHECK(video.frame_bytes(5) == frames[4]);
  CHECK_THROWS_WITH(video.frame_bytes(0), Contains("frames are numbered 1 to 5"));
  CHECK_THROWS_WITH(video.frame_bytes(6), Contains("out of range"));

  const ccl::data::VideoFrames source(path);
  CHECK(source.is_hdf5());
  for (Index i = 1; i <= 5; ++i) CHECK(same_pixels(source.frame(i), pattern(6, 9, int(i - 1))));
}

TEST_CASE("HDF5 video: JPEG frames decode within the codec's tolerance", "[data][video]") {
  TempDir dir;
  const fs::path path = dir.path / "v.hdf5";
  std::vector<Bytes> frames;
  for (int i = 0; i < 3; ++i) frames.push_back(jpeg_bytes(smooth(16, 16, i)));
  write_vlen_video(path, frames);
  const ccl::data::VideoFrames source(path);
  for (Index i = 1; i <= 3; ++i) {
    const RgbFrame decoded = source.frame(i), expected = smooth(16, 16, int(i - 1));
    REQUIRE(decoded.height == 16);
    REQUIRE(decoded.width == 16);
    double total = 0;
    int worst = 0;
    for (std::size_t p = 0; p < decoded.pixels.size(); ++p) {
      const int difference = std::abs(int(decoded.pixels[p]) - int(expected.pixels[p]));
      total += difference;
      worst = std::max(worst, difference);
    }
    CHECK(total / double(decoded.pixels.size()) < 2.0);
    CHECK(worst <= 12);
  }
}

TEST_CASE("HDF5 video: fixed-length opaque records with zero padding", "[data][video]") {
  TempDir dir;
  const fs::path path = dir.path / "fixed.h5";
  std::vector<Bytes> frames = png_frames(2, 4, 5);
  frames.push_back(jpeg_bytes(smooth(8, 8, 1)));
  std::size_t record = 0;
  for (const auto& f : frames) record = std::max(record, f.size());
  write_opaque_video(path, frames, record + 17);
  CHECK(ccl::data::Hdf5Video(path).record_size() == Index(record + 17));
  const ccl::data::VideoFrames source(path);
  CHECK(source.frame_count() == 3);
  CHECK(same_pixels(source.frame(1), pattern(4, 5, 0)));
  CHECK(same_pixels(source.frame(2), pattern(4, 5, 1)));
  CHECK(source.frame(3).width == 8);  // the JPEG's end marker is found before the padding
}

TEST_CASE("frame directories: image_00001.jpg ... as an alternative source", "[data][video]") {
  TempDir dir;
  write_frame_dir(dir.path / "clip", 4, 5, 7);
  fs::create_directories(dir.path / "clip" / "image_00009.png.d");  // not a frame: ignored
  const ccl::data::VideoFrames source(dir.path / "clip");
  CHECK_FALSE(source.is_hdf5());
  CHECK(source.frame_count() == 4);
  for (Index i = 1; i <= 4; ++i) CHECK(same_pixels(source.frame(i), pattern(5, 7, int(i - 1))));
  write_bytes(dir.path / "clip" / "notes.txt", Bytes{'h', 'i'});  // not a frame: ignored
  CHECK(ccl::data::VideoFrames(dir.path / "clip").frame_count() == 4);

  write_bytes(dir.path / "clip" / "image_00001.jpg", jpeg_bytes(smooth(8, 8, 0)));
  CHECK_THROWS_WITH(ccl::data::VideoFrames(dir.path / "clip"), Contains("frame 1 appears twice"));
  fs::remove(dir.path / "clip" / "image_00001.jpg");
  fs::remove(dir.path / "clip" / "image_00003.png");
  CHECK_THROWS_WITH(ccl::data::VideoFrames(dir.path / "clip"), Contains("frame 3 is missing"));
  fs::create_directories(dir.path / "empty");
  CHECK_THROWS_WITH(ccl::data::VideoFrames(dir.path / "empty"), Contains("holds no frames"));
}

TEST_CASE("HDF5 video: bad files are errors naming the file", "[data][video][errors]") {
  TempDir dir;
  const auto good = png_frames(3, 4, 4);

  const fs::path missing = dir.path / "missing.hdf5";
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(missing), Contains(missing.string()) && Contains("no such file"));

  const fs::path text = dir.path / "text.hdf5";
  write_bytes(text, Bytes{'n', 'o', 't', ' ', 'h', 'd', 'f', '5'});
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(text), Contains(text.string()) && Contains("not an HDF5 file"));

  const fs::path truncated = dir.path / "truncated.hdf5";
  write_vlen_video(truncated, good);
  fs::resize_file(truncated, fs::file_size(truncated) / 2);
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(truncated), Contains(truncated.string()));

  // Garbage after a valid HDF5 signature: the superblock cannot be read.
  const fs::path corrupt = dir.path / "corrupt.hdf5";
  Bytes bytes = {0x89, 'H', 'D', 'F', 0x0d, 0x0a, 0x1a, 0x0a};
  for (int i = 0; i < 2000; ++i) bytes.push_back(std::uint8_t(i * 37 + 11));
  write_bytes(corrupt, bytes);
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(corrupt), Contains(corrupt.string()));

  const fs::path other = dir.path / "other.hdf5";
  write_vlen_video(other, good, "frames");
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(other), Contains(other.string()) && Contains("no dataset 'video'"));

  const fs::path floats = dir.path / "floats.hdf5";
  write_float_video(floats);
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(floats), Contains(floats.string()) && Contains("variable-length uint8"));

  const fs::path empty = dir.path / "empty.hdf5";
  write_vlen_video(empty, {});
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(empty), Contains(empty.string()) && Contains("no frames"));

  // Frame 2 is a JPEG cut short, frame 3 random bytes, frame 4 empty, frame 5 garbage that
  // looks like a JPEG at both ends.
  const fs::path frames = dir.path / "bad_frames.hdf5";
  Bytes jpeg = jpeg_bytes(smooth(16, 16, 0));
  Bytes cut(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(jpeg.size() / 2));
  Bytes fake = {0xff, 0xd8, 0xff, 0x01, 0x02, 0x03, 0x04, 0xff, 0xd9};
  write_vlen_video(frames, {jpeg, cut, Bytes{1, 2, 3, 4, 5, 6, 7, 8}, Bytes{}, fake});
  const ccl::data::VideoFrames source(frames);
  CHECK(source.frame(1).width == 16);
  CHECK_THROWS_WITH(source.frame(2), Contains(frames.string() + ", frame 2") && Contains("truncated"));
  CHECK_THROWS_WITH(source.frame(3), Contains(frames.string() + ", frame 3") && Contains("not a JPEG or PNG"));
  CHECK_THROWS_WITH(source.frame(4), Contains(frames.string() + ", frame 4") && Contains("empty"));
  CHECK_THROWS_WITH(source.frame(5), Contains(frames.string() + ", frame 5") &&
                                         Contains("cannot read the JPEG header"));
}

TEST_CASE("image codec: PNG round trip and format sniffing", "[data][video]") {
  const RgbFrame frame = pattern(5, 3, 2);
  const Bytes png = ccl::data::encode_png(frame);
  CHECK(ccl::data::sniff_image_format(png.data(), png.size()) == ccl::data::ImageFormat::png);
  CHECK(same_pixels(ccl::data::decode_image(png, "round trip"), frame));
  Bytes cut(png.begin(), png.begin() + std::ptrdiff_t(png.size() - 20));
  CHECK_THROWS_WITH(ccl::data::decode_image(cut, "cut.png"), Contains("cut.png"));
}

// Regression for a crafted 9-byte JPEG (found by fuzzing): it passes the marker checks, and
// Debian's 2022 stb_image indexed out of bounds building its Huffman table (UBSan); the
// libjpeg-turbo decoder must reject it, and everything like it, with a ccl::error.
TEST_CASE("image codec: crafted JPEG headers are errors, not reads out of bounds",
          "[data][video][hostile]") {
  const std::vector<Bytes> crafted = {
      {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x03, 0x10, 0xff, 0xd9},  // a DHT cut inside its counts
      {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00, 0xff, 0xd9},  // a DHT longer than the file
      {0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x00, 0xff, 0xd9},  // a scan before any frame header
      {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0xff, 0xd9},  // a frame header cut short
  };
  for (const Bytes& bytes : crafted) {
    CHECK_THROWS_AS(ccl::data::decode_image(bytes, "crafted.jpg"), ccl::error);
    CHECK_THROWS_AS(ccl::data::image_size(bytes.data(), bytes.size(), "crafted.jpg"), ccl::error);
  }
  // Every prefix of a real JPEG, with the end marker appended so that the cheap check passes.
  const Bytes jpeg = jpeg_bytes(smooth(16, 16, 0));
  for (std::size_t cut = 3; cut + 2 < jpeg.size(); cut += 7) {
    Bytes bytes(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(cut));
    bytes.push_back(0xff);
    bytes.push_back(0xd9);
    CHECK_THROWS_AS(ccl::data::decode_image(bytes, "cut.jpg"), ccl::error);
  }
}

TEST_CASE("image codec: a header cannot make ccl allocate a huge frame",
          "[data][video][hostile]") {
  // A JPEG whose frame header (SOF0) claims 60000 x 60000 pixels: refused from the header.
  Bytes jpeg = jpeg_bytes(smooth(16, 16, 0));
  std::size_t sof = 0;
  for (std::size_t i = 2; i + 8 < jpeg.size() && sof == 0; ++i)
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) sof = i;
  REQUIRE(sof != 0);
  for (std::size_t k : {5, 7}) {  // height, width (big-endian)
    jpeg[sof + k] = 0xea;
    jpeg[sof + k + 1] = 0x60;
  }
  CHECK_THROWS_WITH(ccl::data::decode_image(jpeg, "huge.jpg"),
                    Contains("huge.jpg") && Contains("60000x60000") && Contains("at most"));
  CHECK_THROWS_WITH(ccl::data::image_size(jpeg.data(), jpeg.size(), "huge.jpg"),
                    Contains("60000x60000"));

  // A PNG whose IHDR (with a valid CRC) claims 100000 x 100000 pixels.
  Bytes png = ccl::data::encode_png(pattern(4, 4, 0));
  REQUIRE(png.size() > 33);
  for (std::size_t at : {16, 20}) {  // IHDR width, height (big-endian)
    png[at] = 0x00;
    png[at + 1] = 0x01;
    png[at + 2] = 0x86;
    png[at + 3] = 0xa0;
  }
  const std::uint32_t crc = ccl::io::crc32(png.data() + 12, 17);  // type + data of IHDR
  for (int b = 0; b < 4; ++b) png[29 + std::size_t(b)] = std::uint8_t(crc >> (24 - 8 * b));
  CHECK_THROWS_WITH(ccl::data::decode_image(png, "huge.png"),
                    Contains("huge.png") && Contains("100000x100000"));

  // Within the limits (8000 x 8000 = 64 M pixels), but more than ~100 bytes of data can hold:
  // refused before the 192 MB frame is allocated.
  const auto claim = [](Bytes image, std::size_t at, std::uint32_t height, std::uint32_t width) {
    for (int b = 0; b < 4; ++b) {
      image[at + std::size_t(b)] = std::uint8_t(width >> (24 - 8 * b));
      image[at + 4 + std::size_t(b)] = std::uint8_t(height >> (24 - 8 * b));
    }
    const std::uint32_t fixed = ccl::io::crc32(image.data() + 12, 17);
    for (int b = 0; b < 4; ++b) image[29 + std::size_t(b)] = std::uint8_t(fixed >> (24 - 8 * b));
    return image;
  };
  const Bytes small = ccl::data::encode_png(pattern(4, 4, 0));
  CHECK_THROWS_WITH(ccl::data::decode_image(claim(small, 16, 8000, 8000), "bomb.png"),
                    Contains("8000x8000") && Contains("data can hold"));
  // A 16 x 16 claim is within what the bytes can hold: libpng then reports the missing rows.
  CHECK_THROWS_WITH(ccl::data::decode_image(claim(small, 16, 16, 16), "short.png"),
                    Contains("cannot decode the PNG image"));
  Bytes jpeg_bomb = jpeg_bytes(smooth(16, 16, 0));
  for (std::size_t k : {5, 7}) {  // 8000 x 8000
    jpeg_bomb[sof + k] = 0x1f;
    jpeg_bomb[sof + k + 1] = 0x40;
  }
  CHECK_THROWS_WITH(ccl::data::decode_image(jpeg_bomb, "bomb.jpg"),
                    Contains("8000x8000") && Contains("data can hold"));
}

TEST_CASE("HDF5 video: sizes taken from the file are bounded before any allocation",
          "[data][video][hostile]") {
  const TempDir dir;
  // An opaque record type of 3 GiB with no data written: the file is a few KB, and the reader
  // used to allocate one record (3 GB) per frame read.
  const fs::path huge = dir.path / "huge-record.hdf5";
  ccl::test::write_unwritten_opaque_video(huge, 2, std::size_t(3) << 30);
  REQUIRE(fs::file_size(huge) < 100000);
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(huge),
                    Contains(huge.string()) && Contains("3221225472 bytes") && Contains("at most"));

  // A record size below the limit but larger than the whole (uncompressed) file.
  const fs::path large = dir.path / "large-record.hdf5";
  ccl::test::write_unwritten_opaque_video(large, 1, std::size_t(32) << 20);
  CHECK_THROWS_WITH(ccl::data::Hdf5Video(large),
                    Contains(large.string()) && Contains("more than the whole file"));

  // Ordinary files are unaffected.
  const fs::path fine = dir.path / "fine.hdf5";
  write_opaque_video(fine, png_frames(2, 4, 4), 4096);
  const ccl::data::Hdf5Video video(fine);
  CHECK(video.frame_bytes(2).size() == 4096);
}

TEST_CASE("temporal sampling: the official rules against a re-typed reference", "[data][video]") {
  CHECK(ccl::data::loop_pad({1, 2, 3}, 5) == FrameIndices{1, 2, 3, 1, 2});
  CHECK(ccl::data::loop_pad({4, 5}, 7) == FrameIndices{4, 5, 4, 5, 4, 5, 4});
  CHECK(ccl::data::loop_pad({1, 2, 3}, 2) == FrameIndices{1, 2, 3});

  for (Index length : {1, 4, 16})
    for (Index n = 1; n <= 40; ++n) {
      const Index starts = ccl::data::training_start_count(n, length);
      CHECK(starts == std::max<Index>(0, n - length - 1) + 1);  // the −1: start n − L never drawn
      for (Index b = 0; b < starts; ++b)
        CHECK(ccl::data::training_clip_at(n, length, b) == py_random_crop(n, length, b));
    }
  CHECK(ccl::data::training_start_count(20, 16) == 4);  // starts 0..3; frames 5..20 never a clip
  CHECK(ccl::data::training_clip_at(20, 16, 3).back() == 19);
  CHECK(ccl::data::training_clip_at(5, 16, 0) ==
        FrameIndices{1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1});
  CHECK_THROWS_WITH(ccl::data::training_clip_at(20, 16, 4), Contains("out of range"));

  // Random starts cover exactly {0, ..., count − 1}, and a seed repeats them.
  ccl::Rng rng(5), again(5);
  std::set<Index> seen;
  for (int i = 0; i < 400; ++i) {
    const FrameIndices clip = ccl::data::training_clip_indices(20, 16, rng);
    CHECK(clip == ccl::data::training_clip_indices(20, 16, again));
    seen.insert(clip.front() - 1);
  }
  CHECK(seen == std::set<Index>{0, 1, 2, 3});

  using Clips = std::vector<FrameIndices>;
  auto range = [](Index a, Index b) {
    FrameIndices out;
    for (Index i = a; i <= b; ++i) out.push_back(i);
    return out;
  };
  // TemporalEvenCrop(16, 3): stride max(1, ceil((n − 1 − 16) / 2)).
  CHECK(ccl::data::validation_clip_indices(100, 16) == Clips{range(1, 16), range(43, 58), range(85, 100)});
  CHECK(ccl::data::validation_clip_indices(20, 16) == Clips{range(1, 16), range(3, 18), range(5, 20)});
  FrameIndices padded = range(3, 17);
  padded.push_back(3);
  CHECK(ccl::data::validation_clip_indices(17, 16) == Clips{range(1, 16), range(2, 17), padded});
  CHECK(ccl::data::validation_clip_indices(10, 16) == Clips{py_loop(range(1, 10), 16)});  // one clip
  // SlidingWindow(16, 16): consecutive windows, the last loop-padded.
  CHECK(ccl::data::test_window_indices(32, 16) == Clips{range(1, 16), range(17, 32)});
  CHECK(ccl::data::test_window_indices(33, 16) ==
        Clips{range(1, 16), range(17, 32), FrameIndices(16, 33)});
  CHECK(ccl::data::test_window_indices(40, 16) ==
        Clips{range(1, 16), range(17, 32), py_loop(range(33, 40), 16)});
  CHECK(ccl::data::test_window_indices(3, 4, 1) == Clips{py_loop(range(1, 3), 4)});
}

TEST_CASE("RandomResizedCrop parameters: in bounds, in range, deterministic", "[data][video]") {
  const ccl::data::RandomResizedCropOptions options;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    ccl::Rng rng(seed), again(seed);
    const Index height = 40 + Index(seed % 7) * 30, width = 60 + Index(seed % 5) * 41;
    const auto box = ccl::data::random_resized_crop_box(height, width, rng, options);
    CHECK(box == ccl::data::random_resized_crop_box(height, width, again, options));
    CHECK(box.top >= 0);
    CHECK(box.left >= 0);
    CHECK(box.height > 0);
    CHECK(box.width > 0);
    CHECK(box.top + box.height <= height);
    CHECK(box.left + box.width <= width);
    // Rounding to whole pixels moves area and ratio slightly outside the drawn ranges.
    const double area = double(box.height * box.width) / double(height * width);
    CHECK(area >= 0.25 * 0.9);
    CHECK(area <= 1.0);
    const double ratio = double(box.width) / double(box.height);
    CHECK(ratio >= 0.75 * 0.93);
    CHECK(ratio <= 4.0 / 3.0 * 1.07);
  }
  ccl::Rng a(1), b(2);
  bool differs = false;
  for (int i = 0; i < 5; ++i)
    differs |= !(ccl::data::random_resized_crop_box(240, 320, a) ==
                 ccl::data::random_resized_crop_box(240, 320, b));
  CHECK(differs);
  // No attempt fits a 1 × 1000 strip: torchvision's central fallback.
  ccl::Rng rng(3);
  const auto strip = ccl::data::random_resized_crop_box(1, 1000, rng);
  CHECK(strip == ccl::data::CropBox{0, 499, 1, 1});

  CHECK(ccl::data::center_crop_box(240, 320, 112, 112) == ccl::data::CropBox{64, 104, 112, 112});
  CHECK(ccl::data::center_crop_box(113, 112, 112, 112) == ccl::data::CropBox{0, 0, 112, 112});  // round(0.5) = 0
  CHECK(ccl::data::center_crop_box(115, 112, 112, 112).top == 2);  // round(1.5) = 2
  CHECK(ccl::data::short_side_size(240, 320, 112) == std::pair<Index, Index>{112, 149});
  CHECK(ccl::data::short_side_size(320, 240, 112) == std::pair<Index, Index>{149, 112});
  CHECK(ccl::data::short_side_size(112, 500, 112) == std::pair<Index, Index>{112, 500});
}

TEST_CASE("resize_bilinear equals Pillow's BILINEAR resize", "[data][video]") {
  // The 7 × 9 input and Pillow 9.4's outputs (Image.resize(size, Image.BILINEAR)).
  RgbFrame input(7, 9);
  for (Index y = 0; y < 7; ++y)
    for (Index x = 0; x < 9; ++x)
      for (Index c = 0; c < 3; ++c)
        input.at(y, x, c) = std::uint8_t((y * 37 + x * 23 + c * 91 + ((x * y) % 17) * 5) % 256);
  auto expect = [](Index h, Index w, std::vector<int> values) {
    RgbFrame frame(h, w);
    REQUIRE(values.size() == frame.pixels.size());
    for (std::size_t i = 0; i < values.size(); ++i) frame.pixels[i] = std::uint8_t(values[i]);
    return frame;
  };
  CHECK(same_pixels(ccl::data::resize_bilinear(input, 4, 5),
                    expect(4, 5, {34,  125, 196, 74,  161, 155, 122, 175, 79,  162, 139, 96,
                                  143, 112, 130, 96,  182, 70,  148, 139, 84,  156, 85,  137,
                                  130, 92,  183, 76,  136, 125, 166, 138, 96,  152, 84,  161,
                                  53,  127, 206, 95,  150, 165, 110, 195, 76,  156, 72,  157,
                                  69,  131, 222, 75,  166, 128, 120, 186, 56,  158, 124, 85})));
  CHECK(same_pixels(ccl::data::resize_bilinear(input, 3, 3),
                    expect(3, 3, {66,  150, 152, 135, 147, 97,  140, 119, 128, 146, 142, 94, 115, 101,
                                  170, 98,  144, 141, 131, 96,  174, 74,  159, 153, 129, 162, 75})));
  CHECK(same_pixels(ccl::data::resize_bilinear(input, 7, 4),
                    expect(7, 4, {19,  110, 201, 66,  157, 185, 118, 209, 51,  165, 161, 91,  60,  151,
                                  191, 117, 202, 62,  181, 79,  107, 143, 73,  164, 101, 192, 27,  168,
                                  91,  94,  156, 79,  170, 55,  146, 142, 142, 182, 68,  157, 73,  145,
                                  96,  113, 204, 94,  134, 129, 184, 114, 110, 100, 104, 195, 49,  140,
                                  212, 115, 206, 93,  174, 60,  151, 64,  136, 221, 87,  178, 75,  120,
                                  211, 46,  105, 101, 192, 61,  152, 181, 125, 197, 57,  176, 62,  102})));
  // torchvision's resized_crop on a PIL image: crop (left 2, top 1, right 8, bottom 6), resize.
  CHECK(same_pixels(ccl::data::resize_bilinear(ccl::data::crop(input, {1, 2, 5, 6}), 4, 4),
                    expect(4, 4, {116, 183, 42,  157, 162, 83,  178, 56,  125, 177, 76,  167,
                                  172, 101, 98,  151, 57,  148, 140, 96,  187, 71,  122, 213,
                                  174, 65,  156, 61,  117, 208, 70,  125, 216, 103, 154, 152,
                                  71,  122, 213, 52,  143, 212, 82,  173, 93,  105, 196, 55})));
  const RgbFrame up = ccl::data::resize_bilinear(input, 12, 14);  // upscaling
  CHECK(up.at(0, 0, 0) == 0);
  CHECK(up.at(0, 0, 1) == 91);
  CHECK(up.at(11, 13, 2) == 146);
  CHECK(up.at(11, 13, 0) == 220);
  CHECK(up.at(5, 6, 0) == 111);
  CHECK(up.at(5, 6, 2) == 161);
  CHECK(same_pixels(ccl::data::resize_bilinear(input, 7, 9), input));
  CHECK(same_pixels(ccl::data::resize_bilinear(constant(30, 50, 9, 99, 199), 11, 13),
                    constant(11, 13, 9, 99, 199)));
}

TEST_CASE("clips: normalisation, flip, determinism and the evaluation transform", "[data][video]") {
  TempDir dir;
  const fs::path path = dir.path / "v.hdf5";
  std::vector<Bytes> frames;
  for (int i = 0; i < 6; ++i) frames.push_back(png_bytes(constant(20, 30, 200, 100, 50)));
  write_vlen_video(path, frames);
  const ccl::data::VideoFrames video(path);
  ccl::data::ClipOptions options;
  options.frames = 4;
  options.size = 8;

  ccl::nn::Tensor<float, 5> batch({2, 3, 4, 8, 8});
  ccl::Rng rng(11);
  ccl::data::sample_training_clip(video, options, rng, batch, 0);
  ccl::data::write_evaluation_clip(video, {1, 2, 3, 4}, options, batch, 1);
  const float values[3] = {200, 100, 50};
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c) {
      const float expected = (values[c] / 255.0f - options.mean[std::size_t(c)]) / options.std[std::size_t(c)];
      for (Index t = 0; t < 4; ++t)
        for (Index y = 0; y < 8; ++y)
          for (Index x = 0; x < 8; ++x) REQUIRE(batch(n, c, t, y, x) == Approx(expected).epsilon(1e-6));
    }
  CHECK(options.mean[0] == 0.4345f);
  CHECK(options.std[2] == 0.2737f);
  CHECK(ccl::data::clip_frame_to_rgb(batch, 0, 3, options).at(4, 4, 0) == 200);

  // Different frames, a crop and a flip: the clip is what the parameters say, and a seed repeats it.
  const fs::path varied = dir.path / "varied.hdf5";
  write_vlen_video(varied, png_frames(9, 20, 30));
  const ccl::data::VideoFrames video2(varied);
  ccl::data::ClipAugmentation clip{{3, 4, 5, 6}, {2, 5, 16, 16}, false};
  ccl::nn::Tensor<float, 5> plain({1, 3, 4, 8, 8}), flipped({1, 3, 4, 8, 8});
  ccl::data::write_training_clip(video2, clip, options, plain, 0);
  clip.flip = true;
  ccl::data::write_training_clip(video2, clip, options, flipped, 0);
  const RgbFrame expected = ccl::data::resize_bilinear(ccl::data::crop(pattern(20, 30, 4), {2, 5, 16, 16}), 8, 8);
  CHECK(same_pixels(ccl::data::clip_frame_to_rgb(plain, 0, 2, options), expected));  // frame 5 = pattern 4
  for (Index c = 0; c < 3; ++c)
    for (Index y = 0; y < 8; ++y)
      for (Index x = 0; x < 8; ++x) CHECK(plain(0, c, 1, y, x) == flipped(0, c, 1, y, 7 - x));

  ccl::nn::Tensor<float, 5> first({1, 3, 4, 8, 8}), second({1, 3, 4, 8, 8});
  ccl::Rng r1(42), r2(42);
  const auto a = ccl::data::sample_training_clip(video2, options, r1, first, 0);
  const auto b = ccl::data::sample_training_clip(video2, options, r2, second, 0);
  CHECK(a.frames == b.frames);
  CHECK(a.crop == b.crop);
  CHECK(a.flip == b.flip);
  CHECK(first.flat() == second.flat());

  CHECK_THROWS_WITH(ccl::data::write_training_clip(video2, clip, options, batch, 2), Contains("no slot 2"));
}

namespace {

// A small layout: classes "Zebra" < "apple" (byte order), feature width 8.
struct Fixture {
  TempDir dir;
  fs::path videos = dir.path / "videos", audio = dir.path / "audio", image = dir.path / "image";
  static constexpr Index dim = 8;

  static std::vector<float> row(Index frames, float offset) {
    std::vector<float> values(std::size_t(frames * dim));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = offset + float(i);
    return values;
  }

  void add(const std::string& cls, const std::string& id, Index frames, bool hdf5, bool has_audio) {
    fs::create_directories(videos / cls);
    if (hdf5)
      write_vlen_video(videos / cls / (id + ".hdf5"), png_frames(frames, 12, 16));
    else
      write_frame_dir(videos / cls / id, frames, 12, 16);
    if (has_audio) {
      fs::create_directories(audio / cls);
      const auto values = row(1, float(frames));
      ccl::data::write_npy(audio / cls / (id + ".npy"), {dim}, values.data());
    }
    fs::create_directories(image / cls);
    const auto values = row(frames, 1000.0f);
    ccl::data::write_npy(image / cls / (id + ".npy"), {frames, dim}, values.data());
  }

  Fixture() {
    add("Zebra", "v_Zebra_g01_c01", 20, true, true);
    add("Zebra", "v_Zebra_g08_c01", 18, false, true);
    add("apple", "v_apple_g07_c02", 10, true, true);
    add("apple", "v_apple_g09_c01", 17, true, false);  // no audio: the all-zero vector
    add("Other", "v_Other_g10_c01", 5, true, false);   // not an audio class: ignored
    const auto values = row(1, 0);
    ccl::data::write_npy(audio / "apple" / "v_apple_g12_c01.npy", {dim}, values.data());  // no video
  }

  ccl::data::Ucf51Options options() const {
    ccl::data::Ucf51Options o;
    o.feature_dim = dim;
    o.require_ucf51_classes = false;
    return o;
  }
};

}  // namespace

TEST_CASE("UCF51 layout: classes, split by group, the join and missing audio", "[data][video][ucf51]") {
  const auto& names = ccl::data::ucf51_class_names();
  CHECK(names.size() == 51);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == 51);

  Fixture fx;
  CHECK_THROWS_WITH(ccl::data::Ucf51Layout(fx.videos, fx.audio), Contains("51 UCF51 classes"));
  const ccl::data::Ucf51Layout layout(fx.videos, fx.audio, fx.image, fx.options());
  CHECK(layout.classes() == std::vector<std::string>{"Zebra", "apple"});
  REQUIRE(layout.videos().size() == 4);
  const auto& v = layout.videos();
  CHECK(v[0].id == "v_Zebra_g01_c01");
  CHECK(v[0].label == 0);
  CHECK(v[0].split == ccl::data::Split::test);
  CHECK(v[1].split == ccl::data::Split::train);  // g08
  CHECK(v[2].label == 1);
  CHECK(v[2].split == ccl::data::Split::test);  // g07: the last test group
  CHECK(v[3].split == ccl::data::Split::train);
  CHECK(layout.indices(ccl::data::Split::test) == std::vector<Index>{0, 2});
  CHECK(layout.indices(ccl::data::Split::train) == std::vector<Index>{1, 3});
  CHECK(layout.missing_audio_count(ccl::data::Split::train) == 1);
  CHECK(layout.audio_without_video().size() == 1);
  CHECK(layout.audio_feature(v[3]).isZero(0));
  CHECK(layout.audio_feature(v[0])[1] == 21.0f);
  CHECK(layout.image_features(v[1], 18)(17, 7) == 1000.0f + 17 * 8 + 7);
  CHECK_THROWS_WITH(layout.image_features(v[1], 19), Contains("v_Zebra_g08_c01.npy") && Contains("[19, 8]"));

  const ccl::data::Ucf51Layout no_images(fx.videos, fx.audio, {}, fx.options());
  CHECK_FALSE(no_images.has_image_features());
}

TEST_CASE("UCF51 dataset: training batches, evaluation clips, video scores", "[data][video][ucf51]") {
  Fixture fx;
  const ccl::data::Ucf51Layout layout(fx.videos, fx.audio, fx.image, fx.options());
  ccl::data::ClipOptions options;
  options.frames = 4;
  options.size = 8;
  const ccl::data::Ucf51Dataset data(layout, options);

  ccl::Rng rng(7), again(7);
  const auto batch = data.training_batch({1, 3, 0}, rng);
  CHECK(batch.clips.shape() == ccl::nn::Shape<5>{3, 3, 4, 8, 8});
  CHECK(batch.labels == std::vector<std::int32_t>{0, 1, 0});
  CHECK(batch.audio_missing == std::vector<std::uint8_t>{0, 1, 0});
  CHECK(batch.audio.row(1).isZero(0));
  REQUIRE(batch.image_frame >= 0);
  REQUIRE(batch.image_frame < 4);
  for (Index k = 0; k < 3; ++k) {
    const Index frame = batch.clips_drawn[std::size_t(k)].frames[std::size_t(batch.image_frame)];
    CHECK(batch.image(k, 0) == 1000.0f + float((frame - 1) * 8));  // row frame − 1 of the file
  }
  const auto repeat = data.training_batch({1, 3, 0}, again);
  CHECK(repeat.clips.flat() == batch.clips.flat());
  CHECK(repeat.image_frame == batch.image_frame);

  const auto validation = data.validation_clips(0);  // 20 frames: stride ceil(15/2) = 8
  CHECK(validation.clips.dim(0) == 3);
  CHECK(validation.clips_drawn[2].frames == FrameIndices{17, 18, 19, 20});
  CHECK(validation.labels == std::vector<std::int32_t>{0, 0, 0});
  CHECK(validation.image.size() == 0);
  const auto test = data.test_windows(3);  // 17 frames, windows of 4: 5 windows, the last padded
  CHECK(test.clips.dim(0) == 5);
  CHECK(test.clips_drawn[4].frames == FrameIndices{17, 17, 17, 17});
  CHECK(test.audio_missing == std::vector<std::uint8_t>(5, 1));

  // Serial and threaded loading give the same batch (threads only run with OpenMP), and a bad
  // frame decoded on a worker thread still surfaces as the ccl::error naming it.
  ccl::set_num_threads(1);
  ccl::Rng serial_rng(9), threaded_rng(9);
  const auto serial = data.training_batch({0, 1, 2, 3, 0, 1}, serial_rng);
  ccl::set_num_threads(3);
  const auto threaded = data.training_batch({0, 1, 2, 3, 0, 1}, threaded_rng);
  CHECK(threaded.clips.flat() == serial.clips.flat());
  CHECK(data.test_windows(1).clips.flat() == data.test_windows(1).clips.flat());
  const fs::path bad = fx.videos / "Zebra" / "v_Zebra_g08_c01" / "image_00011.png";
  write_bytes(bad, Bytes{1, 2, 3});
  CHECK_THROWS_WITH(data.test_windows(1), Contains(bad.string()));
  ccl::set_num_threads(0);

  ccl::RowMatrix<float> logits(2, 3);
  logits << 0, 0, 0, std::log(2.0f), 0, 0;
  const auto scores = ccl::data::video_scores(logits);
  CHECK(scores[0] == Approx((1.0 / 3 + 0.5) / 2));
  CHECK(scores[1] == Approx((1.0 / 3 + 0.25) / 2));
}

TEST_CASE("UCF51 epochs: every video once, prefetching changes nothing", "[data][video][ucf51]") {
  Fixture fx;
  const ccl::data::Ucf51Layout layout(fx.videos, fx.audio, fx.image, fx.options());
  ccl::data::ClipOptions options;
  options.frames = 4;
  options.size = 8;
  const ccl::data::Ucf51Dataset data(layout, options);
  const std::vector<Index> all = {0, 1, 2, 3};
  ccl::Rng rng_a(3), rng_b(3);
  ccl::data::Ucf51Epoch ahead(data, all, 3, rng_a, true), inline_(data, all, 3, rng_b, false);
  CHECK(ahead.batches() == 2);
  CHECK(ahead.order() == inline_.order());
  std::vector<Index> seen;
  while (!ahead.done()) {
    const auto a = ahead.next();
    const auto b = inline_.next();
    CHECK(a.clips.flat() == b.clips.flat());
    CHECK(a.videos == b.videos);
    seen.insert(seen.end(), a.videos.begin(), a.videos.end());
  }
  CHECK(inline_.done());
  CHECK(seen.size() == 4);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == all);
  CHECK_THROWS_WITH(ahead.next(), Contains("the epoch has ended"));

  // A load error reaches the caller from the background thread.
  fs::remove_all(fx.videos / "apple" / "v_apple_g09_c01.hdf5");
  write_bytes(fx.videos / "apple" / "v_apple_g09_c01.hdf5", Bytes{'x'});
  ccl::Rng rng(1);
  ccl::data::Ucf51Epoch broken(data, {3}, 1, rng);
  CHECK_THROWS_WITH(broken.next(), Contains("v_apple_g09_c01.hdf5"));
}

TEST_CASE("UCF51: feature files of the wrong dtype or shape name the file", "[data][video][ucf51][errors]") {
  Fixture fx;
  // '<f4' -> '<i4' in place: a valid .npy of the wrong dtype.
  const fs::path audio = fx.audio / "Zebra" / "v_Zebra_g01_c01.npy";
  Bytes bytes = ccl::data::read_file(audio);
  const std::string text(bytes.begin(), bytes.end());
  bytes[text.find("<f4") + 1] = 'i';
  write_bytes(audio, bytes);
  const fs::path image = fx.image / "apple" / "v_apple_g07_c02.npy";
  const std::vector<float> wrong(5 * 8, 1.0f);
  ccl::data::write_npy(image, {5, 8}, wrong.data());  // the video has 10 frames

  const ccl::data::Ucf51Layout layout(fx.videos, fx.audio, fx.image, fx.options());
  CHECK_THROWS_WITH(layout.audio_feature(layout.videos()[0]), Contains(audio.string()));
  ccl::data::ClipOptions options;
  options.frames = 4;
  options.size = 8;
  const ccl::data::Ucf51Dataset data(layout, options);
  ccl::Rng rng(1);
  CHECK_THROWS_WITH(data.training_batch({2}, rng), Contains(image.string()) && Contains("[10, 8]"));

  fs::remove(fx.image / "Zebra" / "v_Zebra_g08_c01.npy");
  CHECK_THROWS_WITH(ccl::data::Ucf51Layout(fx.videos, fx.audio, fx.image, fx.options()),
                    Contains("v_Zebra_g08_c01.npy") && Contains("missing image-teacher features"));
  fs::create_directories(fx.videos / "apple" / "clip_without_name");
  CHECK_THROWS_WITH(ccl::data::Ucf51Layout(fx.videos, fx.audio, {}, fx.options()),
                    Contains("clip_without_name") && Contains("v_apple_gXX_cYY"));
}
