# CLI11 for the tools and examples: Debian's libcli11-dev ships the header and, depending on the
# release, a CMake package; fall back to the header alone. Defines CLI11::CLI11 when found.
if(NOT TARGET CLI11::CLI11)
  find_package(CLI11 QUIET CONFIG)
endif()
if(NOT TARGET CLI11::CLI11)
  find_path(CCL_CLI11_INCLUDE_DIR CLI/CLI.hpp)
  if(CCL_CLI11_INCLUDE_DIR)
    add_library(CLI11::CLI11 INTERFACE IMPORTED GLOBAL)
    target_include_directories(CLI11::CLI11 INTERFACE "${CCL_CLI11_INCLUDE_DIR}")
  endif()
endif()
