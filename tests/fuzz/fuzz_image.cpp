// libFuzzer harness: JPEG (libjpeg-turbo) and PNG (libpng) decoding through
// ccl/data/video/image_codec.hpp, header-only queries included.
#include "fuzz_support.hpp"

#include <ccl/data/video/image_codec.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccl::fuzz::expect_clean([&] { ccl::data::image_size(data, size, "fuzz.img"); });
  ccl::fuzz::expect_clean([&] {
    const auto frame = ccl::data::decode_image(data, size, "fuzz.img");
    if (frame.pixels.size() != std::size_t(frame.height * frame.width * 3)) __builtin_trap();
  });
  return 0;
}
