// libFuzzer harness: the .npy reader (ccl/data/npy.hpp).
#include "fuzz_support.hpp"

#include <ccl/data/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccl::fuzz::expect_clean(
      [&] { ccl::data::parse_npy(ccl::fuzz::bytes_of(data, size), "fuzz.npy"); });
  return 0;
}
