#pragma once
// JPEG / PNG decoding of video frames, and JPEG / PNG encoding (pictures of clips, converted
// frame directories). Frames come from files a user downloaded, so every byte is hostile:
//
//   JPEG  libjpeg-turbo through its TurboJPEG API (Debian: libturbojpeg0-dev), the decoder that
//         browsers ship and that is fuzzed continuously upstream; warnings (a truncated scan, a
//         corrupt entropy segment) are errors, and progressive files are limited in scans.
//   PNG   libpng through its simplified API (Debian: libpng-dev), likewise fuzzed upstream;
//         CRC errors and truncation are errors.
//
// Both report failures through return codes (no setjmp/longjmp crosses ccl's C++), and the
// dimensions in the header are checked against documented limits before a pixel buffer is
// allocated: a 100-byte file cannot make ccl allocate gigabytes.
//
// The codecs are optional dependencies: targets that link ccl::data_video get
// CCL_DATA_HAVE_IMAGE_CODECS defined when both were found; elsewhere the functions compile and
// throw a ccl::error saying what to link, so ccl::ccl stays Eigen + Hana only. Every frame
// decodes to 8-bit RGB (grey is expanded, an alpha channel is composited on black).

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/data/video/frame.hpp>

#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
#include <png.h>
#include <turbojpeg.h>
#endif

namespace ccl::data {

inline constexpr bool image_codec_supported() {
#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
  return true;
#else
  return false;
#endif
}

/// Limits on the dimensions an image header may claim (checked before any pixel is allocated):
/// each side at most 16384 pixels and at most 2^26 pixels in all (192 MiB of RGB).
inline constexpr Index max_image_side = 16384;
inline constexpr Index max_image_pixels = Index(1) << 26;

enum class ImageFormat { jpeg, png, unknown };

/// The format by its magic bytes (never by a file name).
inline ImageFormat sniff_image_format(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::jpeg;
  if (size >= 8 && std::memcmp(data, png_magic, 8) == 0) return ImageFormat::png;
  return ImageFormat::unknown;
}

namespace detail {

// True when the JPEG's last non-zero bytes are the end-of-image marker FF D9 (zero padding after
// it is allowed, as in fixed-length HDF5 records). Inside the entropy-coded data every 0xFF is
// followed by 0x00, so the marker cannot occur there by chance.
inline bool jpeg_has_end_marker(const std::uint8_t* data, std::size_t size) {
  std::size_t end = size;
  while (end > 0 && data[end - 1] == 0) --end;
  return end >= 4 && data[end - 2] == 0xff && data[end - 1] == 0xd9;
}

[[noreturn]] inline void missing_codecs(const std::string& source) {
  throw error(ccl::detail::concat("'", source,
                                  "': decoding or encoding images needs libjpeg-turbo and libpng: "
                                  "link ccl::data_video (Debian: libturbojpeg0-dev, libpng-dev)"));
}

// The most pixels `encoded_bytes` of a format can hold: deflate expands at most 1032:1 and a PNG
// row holds at least one bit per pixel (8256 pixels per byte); a JPEG spends at least a few bits
// on every 8x8 block of every component, arithmetic coding included (16384 pixels per byte is
// far beyond any real file). A header claiming more cannot be backed by its data.
inline Index max_pixels_for(ImageFormat format, std::size_t encoded_bytes) {
  const std::size_t per_byte = format == ImageFormat::png ? 8256 : 16384;
  const std::size_t limit = std::size_t(max_image_pixels);
  return Index(encoded_bytes >= limit / per_byte ? limit : encoded_bytes * per_byte);
}

// Checks a header's dimensions against the limits and against what `encoded_bytes` can hold,
// before any pixel is allocated.
inline void require_plausible_size(Index height, Index width, const std::string& source,
                                   ImageFormat format, std::size_t encoded_bytes) {
  require(height >= 1 && width >= 1 && height <= max_image_side && width <= max_image_side &&
              height * width <= max_image_pixels,
          "'", source, "': the image header claims ", height, "x", width,
          " pixels; ccl reads images of at most ", max_image_side, " pixels a side and ",
          max_image_pixels, " pixels in all");
  require(height * width <= max_pixels_for(format, encoded_bytes), "'", source,
          "': the image header claims ", height, "x", width, " pixels, more than its ",
          encoded_bytes, " bytes of ", format == ImageFormat::png ? "PNG" : "JPEG",
          " data can hold");
}

#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
// An owned TurboJPEG handle.
struct TurboJpegHandle {
  explicit TurboJpegHandle(tjhandle h, const std::string& source) : handle(h) {
    require(handle != nullptr, "'", source, "': cannot create a TurboJPEG handle: ",
            tjGetErrorStr2(nullptr));
  }
  TurboJpegHandle(const TurboJpegHandle&) = delete;
  TurboJpegHandle& operator=(const TurboJpegHandle&) = delete;
  ~TurboJpegHandle() { tjDestroy(handle); }
  tjhandle handle;
};

// A libpng simplified-API image, freed on every path.
struct PngImage {
  PngImage() {
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
  }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;
  ~PngImage() { png_image_free(&image); }
  std::string message() const { return image.message[0] != '\0' ? image.message : "unknown error"; }
  png_image image;
};

inline std::pair<Index, Index> jpeg_header(tjhandle handle, const std::uint8_t* data,
                                           std::size_t size, const std::string& source) {
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  require(tjDecompressHeader3(handle, data, static_cast<unsigned long>(size), &width, &height,
                              &subsampling, &colorspace) == 0,
          "'", source, "': cannot read the JPEG header: ", tjGetErrorStr2(handle));
  // libjpeg-turbo accepts some garbage between SOI and EOI as a header without a frame (0x0).
  require(height > 0 && width > 0, "'", source,
          "': cannot read the JPEG header: it declares no frame (", height, "x", width, ")");
  require_plausible_size(height, width, source, ImageFormat::jpeg, size);
  return {Index(height), Index(width)};
}
#endif

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
#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
  RgbFrame frame;
  if (format == ImageFormat::jpeg) {
    detail::TurboJpegHandle jpeg(tjInitDecompress(), source);
    const auto [height, width] = detail::jpeg_header(jpeg.handle, data, size, source);
    frame.height = height;
    frame.width = width;
    frame.pixels.resize(std::size_t(height) * std::size_t(width) * 3);
    // STOPONWARNING: libjpeg fills a corrupt or cut scan with grey and warns; that is an error
    // here. LIMITSCANS: a progressive file with thousands of scans is a denial of service.
    require(tjDecompress2(jpeg.handle, data, static_cast<unsigned long>(size),
                          frame.pixels.data(), int(width), 0, int(height), TJPF_RGB,
                          TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) == 0,
            "'", source, "': cannot decode the JPEG image: ", tjGetErrorStr2(jpeg.handle));
    return frame;
  }
  detail::PngImage png;
  require(png_image_begin_read_from_memory(&png.image, data, size) != 0, "'", source,
          "': cannot read the PNG header: ", png.message());
  detail::require_plausible_size(Index(png.image.height), Index(png.image.width), source,
                                 ImageFormat::png, size);
  png.image.format = PNG_FORMAT_RGB;
  frame.height = Index(png.image.height);
  frame.width = Index(png.image.width);
  frame.pixels.resize(std::size_t(frame.height) * std::size_t(frame.width) * 3);
  require(png_image_finish_read(&png.image, nullptr, frame.pixels.data(), 0, nullptr) != 0, "'",
          source, "': cannot decode the PNG image: ", png.message());
  return frame;
#else
  detail::missing_codecs(source);
#endif
}

/// (height, width) of an encoded JPEG or PNG from its header, without decoding the pixels.
inline std::pair<Index, Index> image_size(const std::uint8_t* data, std::size_t size,
                                          const std::string& source) {
  const ImageFormat format = sniff_image_format(data, size);
  require(size > 0 && format != ImageFormat::unknown, "'", source, "': not a JPEG or PNG image (",
          size, " bytes, unrecognised magic bytes)");
  require(size <= std::size_t(INT_MAX), "'", source, "': image of ", size, " bytes is too large");
#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
  if (format == ImageFormat::jpeg) {
    detail::TurboJpegHandle jpeg(tjInitDecompress(), source);
    return detail::jpeg_header(jpeg.handle, data, size, source);
  }
  detail::PngImage png;
  require(png_image_begin_read_from_memory(&png.image, data, size) != 0, "'", source,
          "': cannot read the PNG header: ", png.message());
  detail::require_plausible_size(Index(png.image.height), Index(png.image.width), source,
                                 ImageFormat::png, size);
  return {Index(png.image.height), Index(png.image.width)};
#else
  detail::missing_codecs(source);
#endif
}

inline RgbFrame decode_image(const Bytes& bytes, const std::string& source) {
  return decode_image(bytes.data(), bytes.size(), source);
}

/// Reads and decodes an image file.
inline RgbFrame read_image(const std::filesystem::path& path) {
  return decode_image(read_file(path), path.string());
}

namespace detail {
inline void require_encodable(const RgbFrame& frame, const char* op, const std::string& what) {
  require(frame.height > 0 && frame.width > 0 && frame.height <= max_image_side &&
              frame.width <= max_image_side &&
              frame.pixels.size() == std::size_t(frame.height * frame.width * 3),
          op, ": ", what, ": bad frame ", frame.height, "x", frame.width, " with ",
          frame.pixels.size(), " bytes");
}
}  // namespace detail

/// Lossless PNG bytes of an RGB frame.
inline Bytes encode_png(const RgbFrame& frame, const std::string& what = "PNG") {
  detail::require_encodable(frame, "encode_png", what);
#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
  detail::PngImage png;
  png.image.width = png_uint_32(frame.width);
  png.image.height = png_uint_32(frame.height);
  png.image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  require(png_image_write_to_memory(&png.image, nullptr, &size, 0, frame.pixels.data(), 0,
                                    nullptr) != 0,
          "encode_png: ", what, ": libpng failed: ", png.message());
  Bytes out(size);
  require(png_image_write_to_memory(&png.image, out.data(), &size, 0, frame.pixels.data(), 0,
                                    nullptr) != 0,
          "encode_png: ", what, ": libpng failed: ", png.message());
  out.resize(size);
  return out;
#else
  detail::missing_codecs(what);
#endif
}

/// Baseline JPEG bytes of an RGB frame (4:2:0 chroma subsampling at `quality` in [1, 100]).
inline Bytes encode_jpeg(const RgbFrame& frame, int quality = 90,
                         const std::string& what = "JPEG") {
  detail::require_encodable(frame, "encode_jpeg", what);
  require(quality >= 1 && quality <= 100, "encode_jpeg: ", what, ": quality must be in [1, 100], got ",
          quality);
#if defined(CCL_DATA_HAVE_IMAGE_CODECS)
  detail::TurboJpegHandle jpeg(tjInitCompress(), what);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int status = tjCompress2(jpeg.handle, frame.pixels.data(), int(frame.width), 0,
                                 int(frame.height), TJPF_RGB, &buffer, &size, TJSAMP_420, quality,
                                 0);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(buffer, tjFree);
  require(status == 0, "encode_jpeg: ", what, ": libjpeg-turbo failed: ",
          tjGetErrorStr2(jpeg.handle));
  return Bytes(buffer, buffer + size);
#else
  (void)quality;
  detail::missing_codecs(what);
#endif
}

/// Writes a PNG atomically (temporary file + rename).
inline void write_png(const std::filesystem::path& path, const RgbFrame& frame) {
  write_file_atomically(path, encode_png(frame, path.string()));
}

}  // namespace ccl::data
