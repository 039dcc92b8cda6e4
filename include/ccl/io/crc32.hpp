#pragma once
// io::crc32: the CRC-32 of zlib, PNG and gzip (IEEE 802.3 polynomial, reflected, initial value and
// final xor 0xFFFFFFFF), computed with tables built at compile time.
//
// Why this checksum for checkpoints: a CRC detects every single-bit error, every error burst of up
// to 32 bits and every odd number of flipped bits, which a plain sum or a 64-bit FNV hash does not
// guarantee; and being the zlib CRC, a checkpoint can be verified outside ccl (Python's
// zlib.crc32, `crc32` from libarchive) without reimplementing anything. It is not a cryptographic
// hash: it protects against accidents (disk, transfer, truncation), not against tampering.

#include <array>
#include <cstddef>
#include <cstdint>

namespace ccl::io {

namespace detail {

// Slicing-by-8 (Intel's scheme, as in zlib's braided code): table[k][n] is the CRC of byte n
// followed by k zero bytes, so eight input bytes are folded with eight independent lookups
// instead of eight dependent ones: about four times the speed of the byte-wise loop.
using Crc32Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[0][n] = c;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t n = 0; n < 256; ++n)
      table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xFFu];
  return table;
}

inline constexpr Crc32Tables crc32_tables = make_crc32_tables();

}  // namespace detail

/// CRC-32 of `size` bytes. Pass a previous result as `crc` to continue over several buffers:
/// crc32(b, nb, crc32(a, na)) == crc32(a ++ b).
inline std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0) {
  const auto& t = detail::crc32_tables;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (; size >= 8; size -= 8, p += 8) {
    // Assembled byte by byte: the same result on little- and big-endian hosts.
    const std::uint32_t low = c ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                   std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
    const std::uint32_t high = std::uint32_t(p[4]) | std::uint32_t(p[5]) << 8 |
                               std::uint32_t(p[6]) << 16 | std::uint32_t(p[7]) << 24;
    c = t[7][low & 0xFFu] ^ t[6][(low >> 8) & 0xFFu] ^ t[5][(low >> 16) & 0xFFu] ^ t[4][low >> 24] ^
        t[3][high & 0xFFu] ^ t[2][(high >> 8) & 0xFFu] ^ t[1][(high >> 16) & 0xFFu] ^
        t[0][high >> 24];
  }
  for (; size > 0; --size, ++p) c = t[0][(c ^ *p) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace ccl::io
