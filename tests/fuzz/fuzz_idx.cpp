// libFuzzer harness: the IDX reader (ccl/data/idx.hpp), plain and gzip-compressed (the bounded,
// incremental path that inflates only what the header declares).
#include "fuzz_support.hpp"

#include <ccl/data/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = ccl::fuzz::bytes_of(data, size);
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
#if defined(CCL_DATA_HAVE_ZLIB)
    ccl::fuzz::expect_clean([&] { ccl::data::detail::read_gzipped_idx(bytes, "fuzz.idx.gz"); });
#endif
    return 0;
  }
  ccl::fuzz::expect_clean([&] {
    const auto array = ccl::data::parse_idx(bytes, "fuzz.idx");
    ccl::data::require_idx_u8(array, array.dims.size(), "fuzz.idx", "images");
  });
  return 0;
}
