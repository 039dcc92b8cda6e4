# "Every header compiles on its own": for each public header a generated translation unit that
# includes only that header (twice, which also proves the include guard), compiled with the same
# warnings as the tests, all linked into one executable that reports how many headers it proved.
#
# The CUDA backend (include/ccl/cuda/ and the ccl/cuda.hpp umbrella) is compiled by nvcc only and
# is checked by the CUDA tests instead. A header that needs an optional dependency beyond
# ccl::ccl's (Eigen, Boost) can be left out by appending a regex on its path relative to include/
# to CCL_STANDALONE_HEADERS_EXCLUDE before tests/ is added, with a comment saying where it is
# checked instead.

set(_ccl_include_dir "${PROJECT_SOURCE_DIR}/include")
file(GLOB_RECURSE _ccl_headers CONFIGURE_DEPENDS
     RELATIVE "${_ccl_include_dir}" "${_ccl_include_dir}/ccl/*.hpp")
list(FILTER _ccl_headers EXCLUDE REGEX "^ccl/cuda/")
list(FILTER _ccl_headers EXCLUDE REGEX "^ccl/cuda\\.hpp$")
# The MPI / NCCL communicators need those libraries' headers: compiled by tests/dist/ instead.
list(FILTER _ccl_headers EXCLUDE REGEX "^ccl/dist/(mpi|nccl)\\.hpp$")
foreach(pattern IN LISTS CCL_STANDALONE_HEADERS_EXCLUDE)
  list(FILTER _ccl_headers EXCLUDE REGEX "${pattern}")
endforeach()
list(SORT _ccl_headers)

set(_ccl_generated_dir "${CMAKE_CURRENT_BINARY_DIR}/standalone_headers")
set(_ccl_sources "")
set(_ccl_declarations "")
set(_ccl_calls "")
foreach(header IN LISTS _ccl_headers)
  string(MAKE_C_IDENTIFIER "${header}" id)
  set(source "${_ccl_generated_dir}/${id}.cpp")
  # file(CONFIGURE) rewrites only on change, so reconfiguring does not rebuild every TU.
  file(CONFIGURE OUTPUT "${source}" CONTENT
"// Generated: ${header} must compile on its own, and twice.
#include <${header}>
#include <${header}>
const char* ccl_standalone_${id}() { return \"${header}\"; }
" @ONLY)
  list(APPEND _ccl_sources "${source}")
  string(APPEND _ccl_declarations "const char* ccl_standalone_${id}();\n")
  string(APPEND _ccl_calls "      ccl_standalone_${id}(),\n")
endforeach()
list(LENGTH _ccl_headers _ccl_header_count)

file(CONFIGURE OUTPUT "${_ccl_generated_dir}/main.cpp" CONTENT
"// Generated: links one translation unit per public header and lists them.
#include <cstdio>

${_ccl_declarations}
int main() {
  const char* headers[] = {
${_ccl_calls}  };
  for (const char* header : headers) std::printf(\"compiled alone: %s\\n\", header);
  std::printf(\"%d of ${_ccl_header_count} public headers compile standalone\\n\",
              static_cast<int>(sizeof(headers) / sizeof(headers[0])));
  return sizeof(headers) / sizeof(headers[0]) == ${_ccl_header_count} ? 0 : 1;
}
" @ONLY)

add_executable(ccl_standalone_headers "${_ccl_generated_dir}/main.cpp" ${_ccl_sources})
target_link_libraries(ccl_standalone_headers PRIVATE ccl::ccl ccl_warnings)
add_test(NAME build.headers_standalone COMMAND ccl_standalone_headers)
set_tests_properties(build.headers_standalone PROPERTIES
  PASS_REGULAR_EXPRESSION "${_ccl_header_count} of ${_ccl_header_count} public headers")

# The version in include/ccl/core/version.hpp must be the project's version.
add_executable(ccl_version_check "${CMAKE_CURRENT_LIST_DIR}/version_check.cpp")
target_link_libraries(ccl_version_check PRIVATE ccl::ccl ccl_warnings)
target_compile_definitions(ccl_version_check PRIVATE
  CCL_PROJECT_VERSION="${PROJECT_VERSION}"
  CCL_PROJECT_VERSION_MAJOR=${PROJECT_VERSION_MAJOR}
  CCL_PROJECT_VERSION_MINOR=${PROJECT_VERSION_MINOR}
  CCL_PROJECT_VERSION_PATCH=${PROJECT_VERSION_PATCH})
add_test(NAME build.version_matches COMMAND ccl_version_check)
