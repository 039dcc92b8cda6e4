#pragma once
// The framing of a ccl checkpoint file (docs/checkpoints.md has the byte-by-byte layout):
//
//   header   magic (8 bytes) | format version u32 | section count u32 | payload size u64
//   payload  sections, each: kind u32 | name (u32 length + bytes) | body size u64 | body
//   trailer  CRC-32 (zlib's) of every byte before it, u32
//
// All integers little-endian. parse_checkpoint checks, in this order, that the file is long
// enough, the magic, the version, that the size matches the header (truncation, trailing bytes),
// the CRC, and that the sections tile the payload exactly, and returns the sections without
// interpreting their bodies.

#include <ccl/core/error.hpp>
#include <ccl/io/byte_stream.hpp>
#include <ccl/io/crc32.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ccl::io {

/// PNG's idea: a non-ASCII first byte, then the name, then CR LF, ^Z and LF, so a file mangled by
/// a text-mode transfer (newline conversion, 7-bit stripping) fails the magic check at once.
inline constexpr std::array<std::uint8_t, 8> checkpoint_magic{
    {0x89, 'C', 'C', 'L', '\r', '\n', 0x1A, '\n'}};
inline constexpr std::uint32_t checkpoint_format_version = 1;
inline constexpr std::size_t checkpoint_header_size = 24;
inline constexpr std::size_t checkpoint_trailer_size = 4;

enum class SectionKind : std::uint32_t {
  parameters = 1,  // the parameters of one module
  optimizer = 2,   // hyper-parameters and per-parameter state of one optimiser
  scheduler = 3,   // one learning-rate schedule
  rng = 4,         // one ccl::Rng
  counter = 5,     // one integer (epoch, step, ...)
  value = 6,       // one real number (a best validation score, ...)
};

inline const char* section_kind_name(std::uint32_t kind) {
  switch (kind) {
    case std::uint32_t(SectionKind::parameters):
      return "module";
    case std::uint32_t(SectionKind::optimizer):
      return "optimizer";
    case std::uint32_t(SectionKind::scheduler):
      return "scheduler";
    case std::uint32_t(SectionKind::rng):
      return "rng";
    case std::uint32_t(SectionKind::counter):
      return "counter";
    case std::uint32_t(SectionKind::value):
      return "value";
    default:
      return "unknown";
  }
}

/// One section of a parsed file; `body` points into the caller's byte buffer.
struct Section {
  std::uint32_t kind = 0;
  std::string name;
  const std::uint8_t* body = nullptr;
  std::size_t size = 0;
};

/// Starts a file: the header with a placeholder payload size (finish_checkpoint fills it in).
inline void begin_checkpoint(ByteWriter& out, std::uint32_t section_count) {
  out.raw(checkpoint_magic.data(), checkpoint_magic.size());
  out.u32(checkpoint_format_version);
  out.u32(section_count);
  out.u64(0);
}

/// Writes a section's kind and name and returns the offset of its size field.
inline std::size_t begin_section(ByteWriter& out, SectionKind kind, const std::string& name) {
  out.u32(std::uint32_t(kind));
  out.string(name);
  const std::size_t size_offset = out.size();
  out.u64(0);
  return size_offset;
}

inline void end_section(ByteWriter& out, std::size_t size_offset) {
  out.patch_u64(size_offset, std::uint64_t(out.size() - size_offset - 8));
}

/// Patches the payload size and appends the CRC.
inline void finish_checkpoint(ByteWriter& out) {
  out.patch_u64(16, std::uint64_t(out.size() - checkpoint_header_size));
  out.u32(crc32(out.bytes().data(), out.size()));
}

namespace detail {

inline std::string hex32(std::uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

}  // namespace detail

/// Validates the framing of `bytes` (read from `source`, named in every message) and returns its
/// sections. Throws ccl::error on anything unexpected.
inline std::vector<Section> parse_checkpoint(const std::vector<std::uint8_t>& bytes,
                                             const std::string& source) {
  const std::string where = "load_checkpoint: '" + source + "'";
  const std::size_t minimum = checkpoint_header_size + checkpoint_trailer_size;
  require(bytes.size() >= 8, where, " is ", bytes.size(),
          " bytes long, too short to be a ccl checkpoint (truncated, or not a checkpoint)");
  bool magic_ok = true;
  for (std::size_t k = 0; k < checkpoint_magic.size(); ++k)
    magic_ok &= bytes[k] == checkpoint_magic[k];
  require(magic_ok, where, " is not a ccl checkpoint (wrong magic number)");
  require(bytes.size() >= minimum, where, " is truncated: ", bytes.size(),
          " bytes, shorter than the ", minimum, "-byte header and checksum");

  ByteReader header(bytes.data(), checkpoint_header_size, where);
  header.take(checkpoint_magic.size(), "the magic number");
  const std::uint32_t version = header.u32("the format version");
  require(version == checkpoint_format_version, where, " has format version ", version,
          "; this version of ccl reads format version ", checkpoint_format_version);
  const std::uint32_t section_count = header.u32("the section count");
  const std::uint64_t payload = header.u64("the payload size");
  const std::uint64_t expected = payload + minimum;
  require(payload <= bytes.size() && bytes.size() == expected, where,
          bytes.size() < expected ? " is truncated: " : " has unexpected trailing bytes: ",
          bytes.size(), " bytes, but its header declares ", expected);

  const std::size_t crc_offset = bytes.size() - checkpoint_trailer_size;
  ByteReader trailer(bytes.data() + crc_offset, checkpoint_trailer_size, where);
  const std::uint32_t stored = trailer.u32("the checksum");
  const std::uint32_t computed = crc32(bytes.data(), crc_offset);
  require(stored == computed, where, " is corrupt: its CRC-32 is ", detail::hex32(stored),
          " but the content gives ", detail::hex32(computed));

  // From here the bytes are the ones that were written; errors below mean a writer that did not
  // follow the format.
  ByteReader payload_reader(bytes.data() + checkpoint_header_size, std::size_t(payload),
                            where + " payload");
  std::vector<Section> sections;
  std::set<std::string> names;
  for (std::uint32_t s = 0; s < section_count; ++s) {
    Section section;
    section.kind = payload_reader.u32("a section kind");
    section.name = payload_reader.string("a section name");
    const std::uint64_t size = payload_reader.u64("a section size");
    section.body = payload_reader.take(size, "a section body");
    section.size = std::size_t(size);
    require(names.insert(section.name).second, where, " has two sections named '", section.name,
            "'");
    sections.push_back(std::move(section));
  }
  payload_reader.expect_end();
  return sections;
}

}  // namespace ccl::io
