#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), the format of the official CCL teacher
// features. Only what those files need is accepted, and everything else is an error naming the
// file: little-endian float32 ('<f4') or float64 ('<f8', converted to float — the features are
// float32 in the official release, f8 is accepted for features re-saved by NumPy defaults),
// C order (fortran_order False), any rank. The data size must match the shape exactly.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/data/idx.hpp>  // shape_string

#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace ccl::data {

/// A decoded .npy array: shape, values as float (row-major), and the stored dtype ('<f4'/'<f8').
struct NpyArray {
  std::vector<Index> shape;
  std::vector<float> values;
  std::string descr;

  Index count() const {
    Index n = 1;
    for (Index d : shape) n *= d;
    return n;
  }
};

namespace detail {

// A strict parser for the header dict NumPy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 512), }
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& source)
      : text_(text), source_(source) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<Index>& shape) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        shape = tuple();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    if (!seen_descr || !seen_order || !seen_shape)
      fail("the header must have the keys 'descr', 'fortran_order' and 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error(ccl::detail::concat("'", source_, "': bad .npy header: ", what, " at character ", pos_,
                       " of \"", text_, "\""));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) ++pos_;
    if (pos_ >= text_.size()) fail("unterminated string");
    return text_.substr(start, pos_++ - start);
  }
  bool boolean() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<Index> tuple() {
    std::vector<Index> dims;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      Index value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        value = value * 10 + (text_[pos_++] - '0');
        if (value > (Index(1) << 40)) fail("dimension too large");
      }
      dims.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    ++pos_;
    return dims;
  }

  const std::string& text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// Parses .npy bytes; `source` names the file in error messages.
inline NpyArray parse_npy(const Bytes& bytes, const std::string& source) {
  ByteReader in(bytes, source);
  static const std::uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  require(bytes.size() >= 10 && std::memcmp(bytes.data(), magic, 6) == 0, "'", source,
          "': not a .npy file (the magic string \\x93NUMPY is missing)");
  in.take(6, "the magic string");
  const int major = in.u8("the format version");
  const int minor = in.u8("the format version");
  require((major == 1 || major == 2 || major == 3) && minor == 0, "'", source,
          "': unsupported .npy format version ", major, ".", minor,
          " (1.0, 2.0 and 3.0 are supported)");
  const std::size_t header_length =
      major == 1 ? in.le16("the header length") : in.le32("the header length");
  const std::uint8_t* header_bytes = in.take(header_length, "the header");
  std::string header(reinterpret_cast<const char*>(header_bytes), header_length);
  // NumPy pads the header with spaces and ends it with '\n'.
  while (!header.empty() && (header.back() == '\n' || header.back() == ' ')) header.pop_back();

  NpyArray array;
  bool fortran_order = false;
  detail::NpyHeaderParser(header, source).parse(array.descr, fortran_order, array.shape);
  require(array.descr == "<f4" || array.descr == "<f8", "'", source, "': unsupported dtype '",
          array.descr, "': only little-endian float32 '<f4' and float64 '<f8' are accepted");
  require(!fortran_order, "'", source,
          "': fortran_order is True: only C-order (row-major) arrays are accepted");
  std::size_t count = 1;
  const std::size_t element = array.descr == "<f4" ? 4 : 8;
  for (Index d : array.shape) {
    require(d == 0 || count <= in.remaining() / std::size_t(d), "'", source,
            "': truncated .npy data: shape ", shape_string(array.shape), " needs more than the ",
            in.remaining(), " bytes after the header");
    count *= std::size_t(d);
  }
  const std::size_t data_bytes = count * element;
  require(in.remaining() >= data_bytes, "'", source, "': truncated .npy data: shape ",
          shape_string(array.shape), " of ", array.descr, " needs ", data_bytes, " bytes, only ",
          in.remaining(), " follow the header");
  require(in.remaining() == data_bytes, "'", source, "': ", in.remaining() - data_bytes,
          " bytes of trailing garbage after the .npy data of shape ", shape_string(array.shape));
  const std::uint8_t* data = in.take(data_bytes, "the data");
  array.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (element == 4) {
      const auto bits = std::uint32_t(ByteReader::load_le(data + 4 * i, 4));
      std::memcpy(&array.values[i], &bits, 4);
    } else {
      const std::uint64_t bits = ByteReader::load_le(data + 8 * i, 8);
      double value = 0;
      std::memcpy(&value, &bits, 8);
      array.values[i] = static_cast<float>(value);
    }
  }
  return array;
}

inline NpyArray read_npy(const std::filesystem::path& path) {
  return parse_npy(read_file(path), path.string());
}

/// Encodes a float32 C-order array as .npy version 1.0 (what numpy.save writes).
inline Bytes encode_npy(const std::vector<Index>& shape, const float* values) {
  std::string dims;
  std::size_t count = 1;
  for (Index d : shape) {
    require(d >= 0, "encode_npy: negative dimension in shape ", shape_string(shape));
    dims += std::to_string(d) + (shape.size() == 1 ? "," : ", ");
    count *= std::size_t(d);
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that magic (6) + version (2) + length (2) + header is a multiple of 64, ending in \n.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  ByteWriter out;
  out.raw("\x93NUMPY", 6);
  out.u8(1);
  out.u8(0);
  out.put_le(header.size(), 2);
  out.raw(header.data(), header.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    out.le32(bits);
  }
  return std::move(out.bytes());
}

/// Writes a float32 .npy file atomically.
inline void write_npy(const std::filesystem::path& path, const std::vector<Index>& shape,
                      const float* values) {
  write_file_atomically(path, encode_npy(shape, values));
}

}  // namespace ccl::data
