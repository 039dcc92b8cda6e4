#pragma once
// temp_path(name): a file name inside a scratch directory private to this test process
// (ctest runs test programs in parallel, so the process id keeps them apart). The directory is
// removed when the process exits, so repeated test runs leave nothing behind in the temp dir.

#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace ccl::test {

namespace detail {
struct ProcessTempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ccl-test-" + std::to_string(::getpid()));
  ProcessTempDir() { std::filesystem::create_directories(path); }
  ProcessTempDir(const ProcessTempDir&) = delete;
  ProcessTempDir& operator=(const ProcessTempDir&) = delete;
  ~ProcessTempDir() {
    std::error_code ignored;  // a destructor must not throw; a leftover directory is harmless
    std::filesystem::remove_all(path, ignored);
  }
};
}  // namespace detail

inline std::string temp_path(const std::string& name) {
  static detail::ProcessTempDir dir;
  return (dir.path / name).string();
}

}  // namespace ccl::test
