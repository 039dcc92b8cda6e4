// libFuzzer harness: the checkpoint reader (ccl/io/checkpoint.hpp) bound to a small model, an
// optimiser with momentum, a generator and a counter (fuzz_checkpoint_model.hpp).
// The CRC-32 at the end is rewritten to match the content, as an attacker would, so the fuzzer
// reaches the section parser; the input as given is tried first.
#include "fuzz_support.hpp"

#include "fuzz_checkpoint_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ccl::fuzz::CheckpointModel bound;
  auto bytes = ccl::fuzz::bytes_of(data, size);
  ccl::fuzz::expect_clean([&] { bound.checkpoint.from_bytes(bytes, "fuzz.ckpt"); });
  if (size < 28) return 0;
  const std::uint32_t crc = ccl::io::crc32(bytes.data(), size - 4);
  for (int i = 0; i < 4; ++i) bytes[size - 4 + std::size_t(i)] = std::uint8_t(crc >> (8 * i));
  ccl::fuzz::expect_clean([&] { bound.checkpoint.from_bytes(bytes, "fuzz.ckpt"); });
  return 0;
}
