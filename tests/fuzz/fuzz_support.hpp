#pragma once
// Shared by the libFuzzer harnesses of tests/fuzz/. Each harness feeds the fuzzer's bytes to one
// reader of untrusted input. A ccl::error is the reader doing its job; anything else that leaves
// the reader — another exception (std::bad_alloc, std::length_error), a crash, a sanitizer
// report, an allocation over libFuzzer's -malloc_limit_mb, a hang — is a finding.

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace ccl::fuzz {

inline ccl::data::Bytes bytes_of(const std::uint8_t* data, std::size_t size) {
  return ccl::data::Bytes(data, data + size);
}

/// Runs `read`; swallows ccl::error only.
template <class Read>
void expect_clean(Read&& read) {
  try {
    read();
  } catch (const ccl::error&) {
  }
}

/// A scratch directory of this fuzzing process (readers of files need a path), removed at exit.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    path_ = std::filesystem::temp_directory_path() / ("ccl-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const ScratchDirectory& scratch() {
  static const ScratchDirectory directory;
  return directory;
}

}  // namespace ccl::fuzz
