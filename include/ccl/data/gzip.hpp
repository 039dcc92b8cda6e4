#pragma once
// gzip decompression for the readers (Fashion-MNIST ships its IDX files gzipped). zlib is an
// optional dependency: the core library stays Eigen + Hana only. Targets that link
// ccl::data_extras get CCL_DATA_HAVE_ZLIB defined and real decompression; elsewhere a .gz file
// is rejected with an error that says how to enable it.

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <filesystem>
#include <string>

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

/// Decompresses a complete gzip file (one or more members, as `cat a.gz b.gz` produces).
/// Corrupt or truncated input and bytes after the last member are errors naming `source`.
inline Bytes gunzip(const Bytes& compressed, const std::string& source) {
#if defined(CCL_DATA_HAVE_ZLIB)
  require(compressed.size() >= 18, "'", source, "': not a gzip file: only ", compressed.size(),
          " bytes (a gzip member has at least 18)");
  require(compressed[0] == 0x1f && compressed[1] == 0x8b, "'", source,
          "': not a gzip file: the magic bytes are not 1f 8b");
  Bytes out;
  out.reserve(compressed.size() * 4);
  z_stream stream{};
  require(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, "'", source,
          "': zlib inflateInit2 failed");
  stream.next_in = const_cast<Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::uint8_t chunk[1 << 16];
  for (;;) {
    stream.next_out = chunk;
    stream.avail_out = sizeof chunk;
    const int status = inflate(&stream, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - stream.avail_out));
    if (status == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // Another member follows, or trailing garbage: only a gzip header may come next.
      const std::size_t at = compressed.size() - stream.avail_in;
      if (!(stream.avail_in >= 2 && compressed[at] == 0x1f && compressed[at + 1] == 0x8b)) {
        inflateEnd(&stream);
        throw error(ccl::detail::concat("'", source, "': ", stream.avail_in,
                                   " bytes of trailing garbage after the gzip data at offset ",
                                   at));
      }
      inflateReset(&stream);
      continue;
    }
    if (status == Z_OK) continue;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) {
      inflateEnd(&stream);
      throw error(ccl::detail::concat("'", source, "': truncated gzip data (the stream ends after ",
                                 compressed.size(), " bytes without its end marker)"));
    }
    const std::string message = stream.msg ? stream.msg : "unknown zlib error";
    inflateEnd(&stream);
    throw error(ccl::detail::concat("'", source, "': corrupt gzip data: ", message, " (zlib status ",
                               status, ")"));
  }
  inflateEnd(&stream);
  return out;
#else
  (void)compressed;
  throw error(ccl::detail::concat("'", source,
                             "': gzip input needs zlib: link ccl::data_extras (found when "
                             "zlib1g-dev is installed) or decompress the file first"));
#endif
}

/// The file's bytes, decompressed when its name ends in .gz.
inline Bytes read_file_maybe_gzip(const std::filesystem::path& path) {
  Bytes bytes = read_file(path);
  if (has_gzip_suffix(path)) return gunzip(bytes, path.string());
  return bytes;
}

}  // namespace ccl::data
