# vcpkg overlay port for ccl (header-only).
#
#   vcpkg install ccl --overlay-ports=<ccl checkout>/packaging/vcpkg/ports
#   vcpkg install "ccl[cuda]" --overlay-ports=...        # also exports ccl::cuda
#
# The port packages the ccl checkout it ships in, so that a checkout and its port always agree.
# (A registry port would fetch a release instead: vcpkg_from_git(OUT_SOURCE_PATH SOURCE_PATH
# URL <ccl git URL> REF <commit>).) vcpkg does not hash those sources: after changing them,
# `vcpkg remove ccl` before installing again.
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)

# Header-only: there is nothing to build in a debug configuration.
set(VCPKG_BUILD_TYPE release)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    cuda CCL_ENABLE_CUDA)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DCCL_BUILD_TESTS=OFF
    -DCCL_BUILD_EXAMPLES=OFF
    -DCCL_BUILD_BENCHMARKS=OFF
    -DCCL_INSTALL=ON
    # vcpkg's layout: the CMake package lives in share/<port>.
    -DCCL_INSTALL_CMAKEDIR=share/ccl
    ${FEATURE_OPTIONS})
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME ccl CONFIG_PATH share/ccl)

# share/doc/ccl/LICENSE of the CMake install: vcpkg carries the licence as share/ccl/copyright.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib"
     "${CURRENT_PACKAGES_DIR}/share/doc")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")  # Apache-2.0
