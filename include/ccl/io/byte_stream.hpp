#pragma once
// io::ByteWriter / io::ByteReader: the little-endian encoding of checkpoint fields.
//
// Every integer and float is written least significant byte first whatever the host, so a file
// written on one machine loads on another. Floats are stored as their IEEE-754 bit patterns
// (copied, never printed), which is what makes a resumed run bit-identical. The reader checks
// every length against the bytes that remain and throws ccl::error naming what it was reading
// (`context`) instead of reading past the end.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::io {

/// Tensor element type codes of the format (docs/checkpoints.md).
enum class DType : std::uint8_t { float32 = 1, float64 = 2 };

template <class Scalar>
constexpr DType dtype_of() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "ccl::io: checkpoints store float or double tensors");
  return std::is_same_v<Scalar, float> ? DType::float32 : DType::float64;
}

inline const char* dtype_name(std::uint8_t code) {
  switch (code) {
    case std::uint8_t(DType::float32):
      return "float32";
    case std::uint8_t(DType::float64):
      return "float64";
    default:
      return "an unknown element type";
  }
}

namespace detail {

inline bool host_is_little_endian() {
  const std::uint32_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

}  // namespace detail

class ByteWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v) { unsigned_le(v, 4); }
  void u64(std::uint64_t v) { unsigned_le(v, 8); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  /// u32 length, then the bytes (UTF-8, no terminator).
  void string(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  /// u8 dtype, u64 rows, u64 cols, then rows·cols elements in row-major order.
  template <class Scalar>
  void tensor(const RowMatrix<Scalar>& m) {
    u8(std::uint8_t(dtype_of<Scalar>()));
    u64(static_cast<std::uint64_t>(m.rows()));
    u64(static_cast<std::uint64_t>(m.cols()));
    const std::size_t count = static_cast<std::size_t>(m.size());
    if (detail::host_is_little_endian()) {
      raw(m.data(), count * sizeof(Scalar));
      return;
    }
    using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
    for (std::size_t i = 0; i < count; ++i) {
      Bits bits = 0;
      std::memcpy(&bits, m.data() + i, sizeof(Scalar));
      unsigned_le(bits, sizeof(Scalar));
    }
  }

  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  /// Overwrites 8 bytes at `offset` (sizes that are only known after the body is written).
  void patch_u64(std::size_t offset, std::uint64_t v) {
    for (int k = 0; k < 8; ++k) bytes_[offset + std::size_t(k)] = std::uint8_t(v >> (8 * k));
  }

 private:
  void unsigned_le(std::uint64_t v, int width) {
    for (int k = 0; k < width; ++k) bytes_.push_back(std::uint8_t(v >> (8 * k)));
  }
  std::vector<std::uint8_t> bytes_;
};

/// A tensor as found in the file, not yet converted: checked against the live one first.
struct RawTensor {
  std::uint8_t dtype = 0;
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  const std::uint8_t* data = nullptr;

  std::string shape() const { return ccl::detail::concat("[", rows, ", ", cols, "]"); }

  template <class Scalar>
  RowMatrix<Scalar> to_matrix() const {
    RowMatrix<Scalar> m(static_cast<Index>(rows), static_cast<Index>(cols));
    const std::size_t count = static_cast<std::size_t>(rows * cols);
    if (detail::host_is_little_endian()) {
      if (count > 0) std::memcpy(m.data(), data, count * sizeof(Scalar));
      return m;
    }
    using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
    for (std::size_t i = 0; i < count; ++i) {
      Bits bits = 0;
      for (std::size_t k = 0; k < sizeof(Scalar); ++k)
        bits |= Bits(data[i * sizeof(Scalar) + k]) << (8 * k);
      std::memcpy(m.data() + i, &bits, sizeof(Scalar));
    }
    return m;
  }
};

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size, std::string context)
      : data_(data), size_(size), context_(std::move(context)) {}

  std::uint8_t u8(const char* what) { return std::uint8_t(unsigned_le(1, what)); }
  std::uint32_t u32(const char* what) { return std::uint32_t(unsigned_le(4, what)); }
  std::uint64_t u64(const char* what) { return unsigned_le(8, what); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(u64(what)); }
  double f64(const char* what) {
    const std::uint64_t bits = u64(what);
    double v = 0;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  std::string string(const char* what) {
    const std::uint32_t n = u32(what);
    const std::uint8_t* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  const std::uint8_t* take(std::uint64_t n, const char* what) {
    require(n <= remaining(), context_, ": truncated while reading ", what, " (needs ", n,
            " bytes at offset ", position_, ", only ", remaining(), " left)");
    const std::uint8_t* p = data_ + position_;
    position_ += static_cast<std::size_t>(n);
    return p;
  }
  RawTensor tensor(const char* what) {
    RawTensor t;
    t.dtype = u8(what);
    require(t.dtype == std::uint8_t(DType::float32) || t.dtype == std::uint8_t(DType::float64),
            context_, ": ", what, " has unknown element type code ", int(t.dtype));
    t.rows = u64(what);
    t.cols = u64(what);
    const std::uint64_t width = t.dtype == std::uint8_t(DType::float32) ? 4 : 8;
    // Guard the product against overflow before comparing it with what is left.
    require(t.cols == 0 || t.rows <= remaining() / width / t.cols, context_, ": ", what,
            " declares shape ", t.shape(), ", more data than the ", remaining(),
            " bytes that remain");
    t.data = take(t.rows * t.cols * width, what);
    return t;
  }

  std::size_t remaining() const { return size_ - position_; }
  std::size_t position() const { return position_; }
  bool at_end() const { return position_ == size_; }
  const std::string& context() const { return context_; }

  /// Every byte of a section must have been understood: leftovers mean a different layout.
  void expect_end() const {
    require(at_end(), context_, ": ", remaining(), " unexpected trailing bytes");
  }

 private:
  std::uint64_t unsigned_le(int width, const char* what) {
    const std::uint8_t* p = take(std::uint64_t(width), what);
    std::uint64_t v = 0;
    for (int k = 0; k < width; ++k) v |= std::uint64_t(p[k]) << (8 * k);
    return v;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
  std::string context_;
};

}  // namespace ccl::io
