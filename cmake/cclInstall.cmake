# Install and export rules for ccl.
#
# Installs the header tree and a relocatable CMake package so that downstream projects can write
#
#   find_package(ccl 0.1 CONFIG REQUIRED)            # optionally: COMPONENTS cuda, mpi, nccl
#   target_link_libraries(app PRIVATE ccl::ccl)      # and ccl::cuda for the GPU backend
#
# The package re-finds Eigen 3.4 and Boost (Hana is header-only) through find_dependency, and the
# CUDA toolkit only when the ccl::cuda target was exported (CCL_ENABLE_CUDA=ON at install time).

include(CMakePackageConfigHelpers)

# Header-only: the package files are architecture independent, so they live under share/ by
# default. Packagers (vcpkg, distributions) may override the location.
set(CCL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/ccl"
    CACHE STRING "Where the ccl CMake package files are installed, relative to the prefix")
mark_as_advanced(CCL_INSTALL_CMAKEDIR)

# The licence (Apache-2.0) travels with every installed copy.
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
        COMPONENT ccl_development)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/ccl"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT ccl_development
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.cuh" PATTERN "*.h")

set(CCL_EXPORTED_TARGETS ccl)
set(CCL_EXPORTS_CUDA OFF)
# The CUDA backend target is defined by cmake/cclCuda.cmake when CCL_ENABLE_CUDA is on and the
# toolkit was found; it is exported as ccl::cuda next to ccl::ccl.
if(TARGET ccl_cuda)
  get_target_property(_ccl_cuda_export_name ccl_cuda EXPORT_NAME)
  if(NOT _ccl_cuda_export_name)
    set_target_properties(ccl_cuda PROPERTIES EXPORT_NAME cuda)
  endif()
  list(APPEND CCL_EXPORTED_TARGETS ccl_cuda)
  set(CCL_EXPORTS_CUDA ON)
endif()

install(TARGETS ${CCL_EXPORTED_TARGETS}
        EXPORT cclTargets
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT cclTargets
        NAMESPACE ccl::
        DESTINATION "${CCL_INSTALL_CMAKEDIR}"
        COMPONENT ccl_development)

# The same targets straight from the build tree (for `find_package(ccl)` with ccl_DIR pointing
# at a build directory, without installing).
export(EXPORT cclTargets NAMESPACE ccl:: FILE "${PROJECT_BINARY_DIR}/cclTargets.cmake")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/cclConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cclConfig.cmake"
  INSTALL_DESTINATION "${CCL_INSTALL_CMAKEDIR}"
  NO_SET_AND_CHECK_MACRO)

# Before 1.0 every minor release may break the API, so 0.1.x only satisfies requests for 0.1.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cclConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)

# ccl::mpi and ccl::nccl are defined by the package itself, on the consumer's machine
# (cclDistComponents.cmake says why); a copy next to the build tree's config serves ccl_DIR=<build>.
configure_file("${CMAKE_CURRENT_LIST_DIR}/cclDistComponents.cmake"
               "${PROJECT_BINARY_DIR}/cclDistComponents.cmake" COPYONLY)

install(FILES "${PROJECT_BINARY_DIR}/cclConfig.cmake" "${PROJECT_BINARY_DIR}/cclConfigVersion.cmake"
              "${PROJECT_BINARY_DIR}/cclDistComponents.cmake"
        DESTINATION "${CCL_INSTALL_CMAKEDIR}"
        COMPONENT ccl_development)
