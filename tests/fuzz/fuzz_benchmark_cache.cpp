// libFuzzer harness: the benchmark cache reader (ccl/data/benchmark_cache.hpp). Its checksum is
// no defence against an attacker, who simply recomputes it; so the harness does the same (the
// payload size and the FNV-1a checksum are rewritten to match) and the fuzzer reaches the
// parsing and validation of every field. The input as given is tried first.
#include "fuzz_support.hpp"

#include <ccl/data/benchmark_cache.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto bytes = ccl::fuzz::bytes_of(data, size);
  ccl::fuzz::expect_clean([&] { ccl::data::decode_benchmark(bytes, "fuzz.ccl"); });
  if (size < 32) return 0;
  const std::uint64_t payload = size - 32;
  for (int i = 0; i < 8; ++i) bytes[16 + std::size_t(i)] = std::uint8_t(payload >> (8 * i));
  const std::uint64_t checksum = ccl::data::fnv1a64(bytes.data(), size - 8);
  for (int i = 0; i < 8; ++i) bytes[size - 8 + std::size_t(i)] = std::uint8_t(checksum >> (8 * i));
  ccl::fuzz::expect_clean([&] { ccl::data::decode_benchmark(bytes, "fuzz.ccl"); });
  return 0;
}
