#pragma once
// An Rng's state as a fixed-shape matrix buffer, so that a module can checkpoint the generator it
// owns through for_each_buffer (checkpoints save buffers as [rows, cols] tensors and refuse a
// shape change on load, while Rng::state() is text of varying length).
//
// Layout, [1, rng_buffer_entries] doubles: entry 0 = the text's length in bytes, then the bytes
// packed four to an entry (b0 + 256 b1 + 256² b2 + 256³ b3, exact in a double), zero-padded.
// The capacity (4 · 2047 = 8188 bytes) holds the text of std::mt19937_64 (312 words of at most
// 20 digits, its position and the cached normal: under 6,700 bytes).

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace ccl::pipeline::objectives::detail {

inline constexpr Index rng_buffer_entries = 2048;

inline void write_rng_buffer(const Rng& rng, RowMatrix<double>& buffer) {
  const std::string text = rng.state();
  const Index capacity = 4 * (rng_buffer_entries - 1);
  require(Index(text.size()) <= capacity, "rng buffer: the generator state has ", text.size(),
          " bytes, more than the buffer's ", capacity);
  buffer.setZero(1, rng_buffer_entries);
  buffer(0, 0) = double(text.size());
  for (std::size_t k = 0; k < text.size(); ++k) {
    const auto byte = double(static_cast<unsigned char>(text[k]));
    buffer(0, Index(1 + k / 4)) += byte * std::ldexp(1.0, int(8 * (k % 4)));
  }
}

/// Restores `rng` from a buffer written by write_rng_buffer; `op` names the owner in errors.
inline void read_rng_buffer(const char* op, const RowMatrix<double>& buffer, Rng& rng) {
  const Index capacity = 4 * (rng_buffer_entries - 1);
  require(buffer.rows() == 1 && buffer.cols() == rng_buffer_entries, op,
          ": the sampler state buffer has shape [", buffer.rows(), ", ", buffer.cols(),
          "], expected [1, ", rng_buffer_entries, "]");
  const double length = buffer(0, 0);
  require(length >= 1 && length <= double(capacity) && length == std::floor(length), op,
          ": the sampler state buffer is corrupt (length ", length, ")");
  std::string text(std::size_t(length), '\0');
  for (Index e = 1; e < rng_buffer_entries; ++e) {
    const double packed = buffer(0, e);
    require(packed >= 0 && packed < 4294967296.0 && packed == std::floor(packed), op,
            ": the sampler state buffer is corrupt (entry ", e, " = ", packed, ")");
    auto word = static_cast<std::uint32_t>(packed);
    for (Index b = 0; b < 4; ++b, word >>= 8) {
      const auto k = std::size_t(4 * (e - 1) + b);
      if (k < text.size()) text[k] = static_cast<char>(word & 0xffu);
    }
  }
  try {
    rng.set_state(text);
  } catch (const error&) {
    throw error(ccl::detail::concat(op, ": the sampler state buffer is corrupt (not a generator "
                                        "state)"));
  }
}

}  // namespace ccl::pipeline::objectives::detail
