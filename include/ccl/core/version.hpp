#pragma once
// Library version. Kept in sync with project(VERSION ...) in the top-level CMakeLists.txt; a
// test compares the two so a release cannot ship with mismatched numbers.

#define CCL_VERSION_MAJOR 0
#define CCL_VERSION_MINOR 1
#define CCL_VERSION_PATCH 0
#define CCL_VERSION_STRING "0.1.0"

namespace ccl {

struct Version {
  int major;
  int minor;
  int patch;
};

inline constexpr Version version{CCL_VERSION_MAJOR, CCL_VERSION_MINOR, CCL_VERSION_PATCH};

}  // namespace ccl
