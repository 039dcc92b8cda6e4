#pragma once
// io::crc32: the CRC-32 of zlib, PNG and gzip (IEEE 802.3 polynomial, reflected, initial value and
// final xor 0xFFFFFFFF), computed with a 256-entry table built at compile time.
//
// Why this checksum for checkpoints: a CRC detects every single-bit error, every error burst of up
// to 32 bits and every odd number of flipped bits, which a plain sum or a 64-bit FNV hash does not
// guarantee; and being the zlib CRC, a checkpoint can be verified outside ccl (Python's
// zlib.crc32, `crc32` from libarchive) without reimplementing anything. It is not a cryptographic
// hash: it protects against accidents (disk, transfer, truncation), not against tampering.
// A byte-wise table CRC runs at a few hundred MB/s, which is small next to writing the file.

#include <array>
#include <cstddef>
#include <cstdint>

namespace ccl::io {

namespace detail {

constexpr std::array<std::uint32_t, 256> make_crc32_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

}  // namespace detail

/// CRC-32 of `size` bytes. Pass a previous result as `crc` to continue over several buffers:
/// crc32(b, nb, crc32(a, na)) == crc32(a ++ b).
inline std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = detail::crc32_table[(c ^ bytes[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace ccl::io
