#pragma once
// Byte-level helpers shared by the data readers and the benchmark cache: reading a whole file,
// a bounds-checked cursor that names the file and the field when data runs out, explicit
// little/big-endian decoding (the formats fix their byte order; the host's must not matter),
// a 64-bit FNV-1a checksum, and an atomic file write (io/atomic_file.hpp) so that a crash or a
// concurrent reader never sees half a cache.

#include <ccl/core/error.hpp>
#include <ccl/io/atomic_file.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace ccl::data {

using Bytes = std::vector<std::uint8_t>;

/// The whole file as bytes; ccl::error naming the file when it cannot be opened or read, or is
/// larger than the process can allocate (io::read_file, shared with the checkpoints).
inline Bytes read_file(const std::filesystem::path& path) {
  return io::read_file(path.string(), "read_file");
}

/// 64-bit FNV-1a over a byte range (continuing from `state`). Not cryptographic: it detects the
/// truncation, bit rot and partial writes a cache can suffer, which is all it is used for.
inline std::uint64_t fnv1a64(const std::uint8_t* data, std::size_t size,
                             std::uint64_t state = 0xcbf29ce484222325ULL) {
  for (std::size_t i = 0; i < size; ++i) {
    state ^= data[i];
    state *= 0x100000001b3ULL;
  }
  return state;
}

/// Writes `bytes` to `path` atomically: readers see either the old file or the complete new one,
/// and no temporary file stays behind on any failure (io::write_file_atomically, shared with the
/// checkpoints: temporary file in the same directory, fsync, rename).
/// The parent directory is created when missing.
inline void write_file_atomically(const std::filesystem::path& path, const Bytes& bytes) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    require(!ec, "write_file_atomically: cannot create directory '", path.parent_path().string(),
            "': ", ec.message());
  }
  io::write_file_atomically(path.string(), bytes);
}

/// A bounds-checked read cursor over bytes. Every read names the source and the field, so a
/// truncated file reports e.g. "'x.npy': truncated: need 2048 bytes for the data at offset 128,
/// only 100 left".
class ByteReader {
 public:
  ByteReader(const Bytes& bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }

  const std::uint8_t* take(std::size_t count, const char* what) {
    require(count <= remaining(), "'", source_, "': truncated: need ", count, " bytes for ", what,
            " at offset ", offset_, ", only ", remaining(), " left");
    const std::uint8_t* start = bytes_.data() + offset_;
    offset_ += count;
    return start;
  }

  std::uint8_t u8(const char* what) { return *take(1, what); }
  std::uint16_t le16(const char* what) { return std::uint16_t(load_le(take(2, what), 2)); }
  std::uint32_t le32(const char* what) { return std::uint32_t(load_le(take(4, what), 4)); }
  std::uint64_t le64(const char* what) { return load_le(take(8, what), 8); }
  std::uint32_t be32(const char* what) {
    const std::uint8_t* p = take(4, what);
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
  }
  double f64(const char* what) {
    const std::uint64_t bits = le64(what);
    double value = 0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  static std::uint64_t load_le(const std::uint8_t* p, int count) {
    std::uint64_t value = 0;
    for (int i = count - 1; i >= 0; --i) value = (value << 8) | p[i];
    return value;
  }

 private:
  const Bytes& bytes_;
  std::string source_;
  std::size_t offset_ = 0;
};

/// The writing counterpart of ByteReader (little-endian).
class ByteWriter {
 public:
  Bytes& bytes() { return bytes_; }
  void u8(std::uint8_t value) { bytes_.push_back(value); }
  void le32(std::uint32_t value) { put_le(value, 4); }
  void le64(std::uint64_t value) { put_le(value, 8); }
  void f64(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof value);
    le64(bits);
  }
  void raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  void put_le(std::uint64_t value, int count) {
    for (int i = 0; i < count; ++i) bytes_.push_back(std::uint8_t(value >> (8 * i)));
  }

 private:
  Bytes bytes_;
};

}  // namespace ccl::data
