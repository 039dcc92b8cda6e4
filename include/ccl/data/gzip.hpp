#pragma once
// gzip decompression for the readers (Fashion-MNIST ships its IDX files gzipped). zlib is an
// optional dependency: the core library stays Eigen + Hana only. Targets that link
// ccl::data_extras get CCL_DATA_HAVE_ZLIB defined and real decompression; elsewhere a .gz file
// is rejected with an error that says how to enable it.

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>

#if defined(CCL_DATA_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace ccl::data {

inline bool has_gzip_suffix(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
}

inline constexpr bool gzip_supported() {
#if defined(CCL_DATA_HAVE_ZLIB)
  return true;
#else
  return false;
#endif
}

/// Deflate expands at most 1032:1, so no valid gzip stream of `compressed` bytes can hold more
/// than this many bytes: a header (an IDX shape) that claims more is rejected before inflating.
inline std::size_t gzip_max_expansion(std::size_t compressed) {
  constexpr std::size_t ratio = 1032;
  return compressed > std::size_t(-1) / ratio ? std::size_t(-1) : compressed * ratio;
}

/// The default cap of gunzip's output (1 GiB; Fashion-MNIST's largest file inflates to 47 MB).
inline constexpr std::size_t gunzip_default_limit = std::size_t(1) << 30;

#if defined(CCL_DATA_HAVE_ZLIB)
/// Incremental gzip decompression of bytes in memory (one or more members, as `cat a.gz b.gz`
/// produces), so that a reader inflates only what a file's own header says it holds and can
/// reject anything beyond it at once, instead of inflating a hostile file's gigabytes first.
/// Corrupt or truncated input and bytes after the last member are errors naming `source`.
class GzipReader {
 public:
  GzipReader(const Bytes& compressed, std::string source)
      : compressed_(compressed), source_(std::move(source)) {
    require(compressed.size() >= 18, "'", source_, "': not a gzip file: only ", compressed.size(),
            " bytes (a gzip member has at least 18)");
    require(compressed[0] == 0x1f && compressed[1] == 0x8b, "'", source_,
            "': not a gzip file: the magic bytes are not 1f 8b");
    require(compressed.size() <= std::size_t(std::numeric_limits<uInt>::max()), "'", source_,
            "': gzip file of ", compressed.size(), " bytes is too large (the limit is 4 GiB)");
    require(inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK, "'", source_,
            "': zlib inflateInit2 failed");
    stream_.next_in = const_cast<Bytef*>(compressed.data());
    stream_.avail_in = static_cast<uInt>(compressed.size());
  }
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;
  ~GzipReader() { inflateEnd(&stream_); }

  const std::string& source() const { return source_; }
  /// True once the last member has ended and no input is left.
  bool finished() const { return finished_; }

  /// Appends up to `count` decompressed bytes to `out` and returns how many it appended: fewer
  /// than `count` only at the end of the data.
  std::size_t read(Bytes& out, std::size_t count) {
    std::size_t produced = 0;
    while (produced < count && !finished_) {
      const std::size_t step = std::min<std::size_t>(count - produced, std::size_t(1) << 20);
      const std::size_t before = out.size();
      out.resize(before + step);
      stream_.next_out = out.data() + before;
      stream_.avail_out = static_cast<uInt>(step);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      const std::size_t got = step - stream_.avail_out;
      out.resize(before + got);
      produced += got;
      if (status == Z_STREAM_END) {
        if (stream_.avail_in == 0) {
          finished_ = true;
          break;
        }
        // Another member follows, or trailing garbage: only a gzip header may come next.
        const std::size_t at = compressed_.size() - stream_.avail_in;
        require(stream_.avail_in >= 2 && compressed_[at] == 0x1f && compressed_[at + 1] == 0x8b,
                "'", source_, "': ", stream_.avail_in,
                " bytes of trailing garbage after the gzip data at offset ", at);
        inflateReset(&stream_);
        continue;
      }
      if (status == Z_OK) continue;
      require(!(status == Z_BUF_ERROR && stream_.avail_in == 0), "'", source_,
              "': truncated gzip data (the stream ends after ", compressed_.size(),
              " bytes without its end marker)");
      throw error(ccl::detail::concat("'", source_, "': corrupt gzip data: ",
                                      stream_.msg ? stream_.msg : "unknown zlib error",
                                      " (zlib status ", status, ")"));
    }
    return produced;
  }

 private:
  const Bytes& compressed_;
  std::string source_;
  z_stream stream_{};
  bool finished_ = false;
};
#endif

/// Decompresses a complete gzip file (one or more members). Output beyond `max_output` bytes is
/// an error as soon as it appears (a decompression bomb stops there); corrupt or truncated input
/// and bytes after the last member are errors naming `source`.
inline Bytes gunzip(const Bytes& compressed, const std::string& source,
                    std::size_t max_output = gunzip_default_limit) {
#if defined(CCL_DATA_HAVE_ZLIB)
  GzipReader reader(compressed, source);
  Bytes out;
  out.reserve(std::min(max_output, gzip_max_expansion(compressed.size()) / 256 + 4096));
  reader.read(out, max_output);
  if (!reader.finished()) {
    Bytes one;
    require(reader.read(one, 1) == 0, "'", source, "': the gzip data inflates to more than ",
            max_output, " bytes, the limit for this file");
  }
  return out;
#else
  (void)compressed;
  (void)max_output;
  throw error(ccl::detail::concat("'", source,
                             "': gzip input needs zlib: link ccl::data_extras (found when "
                             "zlib1g-dev is installed) or decompress the file first"));
#endif
}

/// One gzip member holding `bytes` (zlib's deflate at `level`, 0-9): what `gzip -c` writes. For
/// tests, fuzz seeds and tools that store IDX files compressed.
inline Bytes gzip_compress(const Bytes& bytes, int level = 6) {
#if defined(CCL_DATA_HAVE_ZLIB)
  require(level >= 0 && level <= 9, "gzip_compress: level must be in [0, 9], got ", level);
  require(bytes.size() <= std::size_t(std::numeric_limits<uInt>::max()),
          "gzip_compress: ", bytes.size(), " bytes is too large (the limit is 4 GiB)");
  z_stream stream{};
  require(deflateInit2(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
          "gzip_compress: zlib deflateInit2 failed");
  Bytes out(deflateBound(&stream, uLong(bytes.size())));
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
  require(status == Z_STREAM_END, "gzip_compress: zlib deflate failed (status ", status, ")");
  return out;
#else
  (void)bytes;
  (void)level;
  throw error("gzip_compress needs zlib: link ccl::data_extras (found when zlib1g-dev is "
              "installed)");
#endif
}

/// The file's bytes, decompressed when its name ends in .gz.
inline Bytes read_file_maybe_gzip(const std::filesystem::path& path) {
  Bytes bytes = read_file(path);
  if (has_gzip_suffix(path)) return gunzip(bytes, path.string());
  return bytes;
}

}  // namespace ccl::data
