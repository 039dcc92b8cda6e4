// libFuzzer harness: HDF5 videos of the official layout (ccl/data/video/hdf5_video.hpp): open,
// count, read every frame's bytes (at most 64) and decode the first. The file is parsed by
// libhdf5, whose own robustness on hostile files is limited (docs/data.md, "Trust model"): long
// runs find crashes inside libhdf5 that ccl cannot prevent, which is why untrusted videos are to
// be converted to frame directories first. The ctest smoke run replays the seeds only.
#include "fuzz_support.hpp"

#include <ccl/data/video/hdf5_video.hpp>
#include <ccl/data/video/image_codec.hpp>

#include <algorithm>
#include <fstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = ccl::fuzz::scratch().path() / "video.hdf5";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  ccl::fuzz::expect_clean([&] {
    const ccl::data::Hdf5Video video(path);
    const ccl::Index frames = std::min<ccl::Index>(video.frame_count(), 64);
    for (ccl::Index i = 1; i <= frames; ++i) {
      const auto bytes = video.frame_bytes(i);
      if (i == 1) ccl::data::decode_image(bytes, "fuzz.hdf5, frame 1");
    }
  });
  return 0;
}
