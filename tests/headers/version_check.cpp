// project(ccl VERSION ...) in CMakeLists.txt and include/ccl/core/version.hpp must agree, so a
// release cannot ship a header that reports another version than its package.
#include <ccl/core/version.hpp>

#include <cstdio>
#include <cstring>

int main() {
  const bool string_ok = std::strcmp(CCL_VERSION_STRING, CCL_PROJECT_VERSION) == 0;
  const bool parts_ok = ccl::version.major == CCL_PROJECT_VERSION_MAJOR &&
                        ccl::version.minor == CCL_PROJECT_VERSION_MINOR &&
                        ccl::version.patch == CCL_PROJECT_VERSION_PATCH;
  std::printf("CMake project version %s, CCL_VERSION_STRING %s, ccl::version %d.%d.%d: %s\n",
              CCL_PROJECT_VERSION, CCL_VERSION_STRING, ccl::version.major, ccl::version.minor,
              ccl::version.patch, string_ok && parts_ok ? "match" : "MISMATCH");
  return string_ok && parts_ok ? 0 : 1;
}
