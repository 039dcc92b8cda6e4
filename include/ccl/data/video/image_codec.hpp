#pragma once
// JPEG / PNG decoding of video frames (and PNG encoding for pictures of clips) with stb_image.
// stb is an optional dependency: targets that link ccl::data_video get CCL_DATA_HAVE_STB defined
// and real decoding; elsewhere the functions compile and throw a ccl::error saying what to link,
// so ccl::ccl stays Eigen + Hana only.
//
// Decoding is strict where stb is lenient: stb's JPEG decoder fills a file cut short with grey
// instead of failing, so a JPEG must also end with its end-of-image marker (FF D9; zero padding
// after it is allowed, as in fixed-length HDF5 records). Every frame decodes to 8-bit RGB.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/data/video/frame.hpp>

#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#if defined(CCL_DATA_HAVE_STB)
#include <stb_image.h>
#include <stb_image_write.h>
#endif

namespace ccl::data {

inline constexpr bool image_codec_supported() {
#if defined(CCL_DATA_HAVE_STB)
  return true;
#else
  return false;
#endif
}

enum class ImageFormat { jpeg, png, unknown };

/// The format by its magic bytes (never by a file name).
inline ImageFormat sniff_image_format(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::jpeg;
  if (size >= 8 && std::memcmp(data, png_magic, 8) == 0) return ImageFormat::png;
  return ImageFormat::unknown;
}

namespace detail {

// True when the JPEG's last non-zero bytes are the end-of-image marker FF D9. Inside the
// entropy-coded data every 0xFF is followed by 0x00, so the marker cannot occur there by chance.
inline bool jpeg_has_end_marker(const std::uint8_t* data, std::size_t size) {
  std::size_t end = size;
  while (end > 0 && data[end - 1] == 0) --end;
  return end >= 4 && data[end - 2] == 0xff && data[end - 1] == 0xd9;
}

[[noreturn]] inline void missing_stb(const std::string& source) {
  throw error(ccl::detail::concat("'", source,
                                  "': decoding or encoding images needs stb_image: link "
                                  "ccl::data_video (Debian: libstb-dev)"));
}

}  // namespace detail

/// Decodes one JPEG or PNG image held in memory to RGB. `source` names it in errors (a file, or
/// "file.hdf5, frame 12").
inline RgbFrame decode_image(const std::uint8_t* data, std::size_t size, const std::string& source) {
  require(size > 0, "'", source, "': empty image (0 bytes)");
  const ImageFormat format = sniff_image_format(data, size);
  require(format != ImageFormat::unknown, "'", source,
          "': not a JPEG or PNG image (unrecognised magic bytes)");
  if (format == ImageFormat::jpeg)
    require(detail::jpeg_has_end_marker(data, size), "'", source,
            "': truncated or corrupt JPEG: no end-of-image marker (FF D9) at the end of its ",
            size, " bytes");
  require(size <= std::size_t(INT_MAX), "'", source, "': image of ", size, " bytes is too large");
#if defined(CCL_DATA_HAVE_STB)
  int width = 0, height = 0, channels = 0;
  stbi_uc* pixels = stbi_load_from_memory(data, int(size), &width, &height, &channels, 3);
  if (pixels == nullptr) {
    const char* reason = stbi_failure_reason();
    throw error(ccl::detail::concat("'", source, "': cannot decode the ",
                                    format == ImageFormat::jpeg ? "JPEG" : "PNG", " image: ",
                                    reason != nullptr ? reason : "unknown error"));
  }
  RgbFrame frame;
  frame.height = height;
  frame.width = width;
  frame.pixels.assign(pixels, pixels + std::size_t(width) * std::size_t(height) * 3);
  stbi_image_free(pixels);
  return frame;
#else
  detail::missing_stb(source);
#endif
}

/// (height, width) of an encoded JPEG or PNG from its header, without decoding the pixels.
inline std::pair<Index, Index> image_size(const std::uint8_t* data, std::size_t size,
                                          const std::string& source) {
  require(size > 0 && sniff_image_format(data, size) != ImageFormat::unknown, "'", source,
          "': not a JPEG or PNG image (", size, " bytes, unrecognised magic bytes)");
  require(size <= std::size_t(INT_MAX), "'", source, "': image of ", size, " bytes is too large");
#if defined(CCL_DATA_HAVE_STB)
  int width = 0, height = 0, channels = 0;
  require(stbi_info_from_memory(data, int(size), &width, &height, &channels) != 0, "'", source,
          "': cannot read the image header: ", stbi_failure_reason());
  return {Index(height), Index(width)};
#else
  detail::missing_stb(source);
#endif
}

inline RgbFrame decode_image(const Bytes& bytes, const std::string& source) {
  return decode_image(bytes.data(), bytes.size(), source);
}

/// Reads and decodes an image file.
inline RgbFrame read_image(const std::filesystem::path& path) {
  return decode_image(read_file(path), path.string());
}

/// Lossless PNG bytes of an RGB frame.
inline Bytes encode_png(const RgbFrame& frame, const std::string& what = "PNG") {
  require(frame.height > 0 && frame.width > 0 &&
              frame.pixels.size() == std::size_t(frame.height * frame.width * 3),
          "encode_png: ", what, ": bad frame ", frame.height, "x", frame.width, " with ",
          frame.pixels.size(), " bytes");
#if defined(CCL_DATA_HAVE_STB)
  Bytes out;
  auto append = [](void* context, void* data, int size) {
    auto* bytes = static_cast<Bytes*>(context);
    const auto* begin = static_cast<const std::uint8_t*>(data);
    bytes->insert(bytes->end(), begin, begin + size);
  };
  const int ok = stbi_write_png_to_func(append, &out, int(frame.width), int(frame.height), 3,
                                        frame.pixels.data(), int(frame.width * 3));
  require(ok != 0, "encode_png: ", what, ": stb_image_write failed");
  return out;
#else
  detail::missing_stb(what);
#endif
}

/// Writes a PNG atomically (temporary file + rename).
inline void write_png(const std::filesystem::path& path, const RgbFrame& frame) {
  write_file_atomically(path, encode_png(frame, path.string()));
}

}  // namespace ccl::data
