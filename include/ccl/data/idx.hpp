#pragma once
// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
// header — two zero bytes, a type byte, a rank byte, then one 32-bit size per dimension — and the
// elements in C order, big-endian. Validation is strict because a silently misread dataset (a
// truncated download, labels and images swapped) produces plausible but wrong results:
// wrong magic, unknown type, rank 0, zero or absurd sizes, missing data and trailing bytes all
// raise ccl::error naming the file. Files ending in .gz are decompressed (see gzip.hpp).

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/data/gzip.hpp>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace ccl::data {

enum class IdxType : std::uint8_t {
  u8 = 0x08,
  i8 = 0x09,
  i16 = 0x0B,
  i32 = 0x0C,
  f32 = 0x0D,
  f64 = 0x0E,
};

inline int idx_element_size(IdxType type) {
  switch (type) {
    case IdxType::u8:
    case IdxType::i8: return 1;
    case IdxType::i16: return 2;
    case IdxType::i32:
    case IdxType::f32: return 4;
    case IdxType::f64: return 8;
  }
  return 0;
}

inline std::string shape_string(const std::vector<Index>& dims) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << ']';
  return out.str();
}

/// A decoded IDX file: its element type, its dimensions and the raw element bytes (big-endian,
/// as stored; u8 data — every MNIST-family file — needs no conversion).
struct IdxArray {
  IdxType type = IdxType::u8;
  std::vector<Index> dims;
  Bytes data;

  Index count() const {
    Index n = 1;
    for (Index d : dims) n *= d;
    return n;
  }
};

/// Parses IDX bytes; `source` names the file in error messages.
inline IdxArray parse_idx(const Bytes& bytes, const std::string& source) {
  ByteReader in(bytes, source);
  require(bytes.size() >= 4, "'", source, "': not an IDX file: only ", bytes.size(),
          " bytes, the magic number needs 4");
  const std::uint8_t zero0 = in.u8("the magic number");
  const std::uint8_t zero1 = in.u8("the magic number");
  const std::uint8_t type = in.u8("the magic number");
  const std::uint8_t rank = in.u8("the magic number");
  require(zero0 == 0 && zero1 == 0, "'", source,
          "': wrong IDX magic: the first two bytes must be 0, got ", int(zero0), " and ",
          int(zero1), " (is this a gzip file without the .gz suffix?)");
  require(type == 0x08 || type == 0x09 || type == 0x0B || type == 0x0C || type == 0x0D ||
              type == 0x0E,
          "'", source, "': wrong IDX magic: unknown element type byte 0x", std::hex, int(type),
          std::dec, " (expected 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32 or 0x0E f64)");
  require(rank >= 1, "'", source, "': wrong IDX magic: rank 0");
  IdxArray array;
  array.type = static_cast<IdxType>(type);
  const std::size_t header = 4 + 4 * std::size_t(rank);
  require(bytes.size() >= header, "'", source, "': truncated IDX header: rank ", int(rank),
          " needs ", header, " header bytes, the file has ", bytes.size());
  for (int d = 0; d < rank; ++d) {
    const std::uint32_t size = in.be32("a dimension");
    require(size > 0, "'", source, "': dimension ", d, " is 0 (shape so far ",
            shape_string(array.dims), ")");
    array.dims.push_back(Index(size));
  }
  // The element count is compared with the file length without overflowing: an absurd header
  // cannot make the product wrap or the allocation explode.
  const std::size_t element = std::size_t(idx_element_size(array.type));
  const std::size_t limit = std::size_t(1) << 48;  // far beyond any real file
  std::size_t count = 1;
  bool too_large = false;
  for (Index d : array.dims) {
    if (count > limit / std::size_t(d)) too_large = true;
    if (!too_large) count *= std::size_t(d);
  }
  require(!too_large, "'", source, "': truncated IDX data or wrong dimensions: shape ",
          shape_string(array.dims), " needs more elements than the ", in.remaining() / element,
          " the file holds");
  const std::size_t data_bytes = count * element;
  require(in.remaining() >= data_bytes, "'", source,
          "': truncated IDX data or wrong dimensions: shape ", shape_string(array.dims),
          " needs ", data_bytes, " bytes, only ", in.remaining(), " follow the header");
  require(in.remaining() == data_bytes, "'", source, "': ", in.remaining() - data_bytes,
          " bytes of trailing garbage after the IDX data of shape ", shape_string(array.dims));
  const std::uint8_t* start = in.take(data_bytes, "the data");
  array.data.assign(start, start + data_bytes);
  return array;
}

namespace detail {

#if defined(CCL_DATA_HAVE_ZLIB)
// A gzipped IDX file is inflated in three steps — the magic, the dimensions, then exactly the
// data the dimensions imply — so a hostile header is rejected before its data is inflated, a
// shape larger than the compressed bytes could possibly hold is rejected before any
// allocation, and data beyond the declared shape is rejected after one byte, not after
// inflating everything. parse_idx then validates the assembled bytes as for a plain file.
inline IdxArray read_gzipped_idx(const Bytes& compressed, const std::string& source) {
  GzipReader reader(compressed, source);
  Bytes bytes;
  reader.read(bytes, 4);
  require(bytes.size() == 4, "'", source, "': not an IDX file: it inflates to only ",
          bytes.size(), " bytes, the magic number needs 4");
  const std::size_t rank = bytes[3];
  reader.read(bytes, 4 * rank);
  // The header's own checks (magic, type, zero sizes) run on the header alone.
  std::size_t data_bytes = 0;
  {
    ByteReader in(bytes, source);
    in.take(4, "the magic number");
    std::size_t count = 1;
    bool too_large = false;
    const std::size_t element = std::size_t(idx_element_size(static_cast<IdxType>(bytes[2])));
    const std::size_t limit = gzip_max_expansion(compressed.size());
    for (std::size_t d = 0; d < rank && in.remaining() >= 4; ++d) {
      const std::size_t size = in.be32("a dimension");
      if (size != 0 && count > limit / size) too_large = true;
      if (!too_large) count *= size;
    }
    if (rank == 0 || element == 0 || bytes.size() != 4 + 4 * rank || count == 0)
      return parse_idx(bytes, source);  // reports what is wrong with the header
    require(!too_large && count <= limit / element, "'", source,
            "': wrong dimensions: the IDX header's shape needs more bytes than ",
            compressed.size(), " bytes of gzip data can hold");
    data_bytes = count * element;
  }
  const std::size_t header = bytes.size();
  reader.read(bytes, data_bytes);
  require(bytes.size() == header + data_bytes, "'", source,
          "': truncated IDX data or wrong dimensions: the header's shape needs ", data_bytes,
          " bytes, only ", bytes.size() - header, " follow the header");
  Bytes extra;
  require(reader.read(extra, 1) == 0, "'", source,
          "': trailing garbage after the IDX data (more bytes follow the shape the header "
          "declares)");
  return parse_idx(bytes, source);
}
#endif

}  // namespace detail

/// Reads an IDX file (gzip-compressed when the name ends in .gz).
inline IdxArray read_idx(const std::filesystem::path& path) {
#if defined(CCL_DATA_HAVE_ZLIB)
  if (has_gzip_suffix(path)) return detail::read_gzipped_idx(read_file(path), path.string());
#endif
  return parse_idx(read_file_maybe_gzip(path), path.string());
}

/// Requires an unsigned-byte IDX array of the given rank; `what` names it ("images", "labels").
inline void require_idx_u8(const IdxArray& array, std::size_t rank, const std::string& source,
                           const char* what) {
  require(array.type == IdxType::u8, "'", source, "': ", what,
          " must be unsigned bytes (IDX type 0x08), got type 0x", std::hex, int(array.type));
  require(array.dims.size() == rank, "'", source, "': ", what, " must have rank ", rank,
          ", got shape ", shape_string(array.dims));
}

}  // namespace ccl::data
