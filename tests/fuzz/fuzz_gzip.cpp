// libFuzzer harness: gzip decompression (ccl/data/gzip.hpp) with an output cap of 16 MiB, which
// must hold as an error however well the input compresses.
#include "fuzz_support.hpp"

#include <ccl/data/gzip.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t cap = std::size_t(16) << 20;
  ccl::fuzz::expect_clean([&] {
    const auto out = ccl::data::gunzip(ccl::fuzz::bytes_of(data, size), "fuzz.gz", cap);
    if (out.size() > cap) __builtin_trap();
  });
  return 0;
}
