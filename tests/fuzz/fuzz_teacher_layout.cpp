// libFuzzer harness: the official teacher-feature layout (ccl/data/teacher_features.hpp). The
// input is "<file name>\n<.npy bytes>": the name goes through the file-name parser, the bytes
// are written as one class's feature file next to a valid one of another class, and the folder
// is listed and both splits loaded, as a training run would.
#include "fuzz_support.hpp"

#include <ccl/data/npy.hpp>
#include <ccl/data/teacher_features.hpp>

#include <algorithm>
#include <fstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  using namespace ccl::data;
  const std::uint8_t* newline = std::find(data, data + size, std::uint8_t('\n'));
  const std::string name(reinterpret_cast<const char*>(data), std::size_t(newline - data));
  const std::size_t rest = newline == data + size ? size : std::size_t(newline - data) + 1;
  FeatureFolderOptions options;
  options.dim = 4;
  ccl::fuzz::expect_clean([&] { parse_feature_file_name(name, "ClassA", 0, options); });

  static const fs::path root = ccl::fuzz::scratch().path() / "layout";
  static const bool prepared = [&] {
    fs::create_directories(root / "ClassA");
    fs::create_directories(root / "ClassB");
    const float good[4] = {1, 0, 2, 0.5f};
    write_npy(root / "ClassB" / "v_ClassB_g09_c01.npy", {4}, good);
    return true;
  }();
  (void)prepared;
  {
    std::ofstream out(root / "ClassA" / "v_ClassA_g01_c02.npy", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + rest), std::streamsize(size - rest));
  }
  ccl::fuzz::expect_clean([&] {
    const TeacherFeatureFolder folder(root, options);
    ccl::Rng rng(1);
    folder.load_split(Split::test, &rng);
    folder.load_split(Split::train);
  });
  return 0;
}
