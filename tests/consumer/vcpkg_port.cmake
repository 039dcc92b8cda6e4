# Runs ccl's vcpkg port (packaging/vcpkg/ports/ccl/portfile.cmake) without the vcpkg tool.
#
#   cmake -DCCL_SOURCE_DIR=<ccl> -DWORK_DIR=<scratch> -DPACKAGES_DIR=<staging prefix>
#         [-DFEATURES=core,cuda] [-DGENERATOR=Ninja] [-DCXX_COMPILER=...] -P vcpkg_port.cmake
#
# The vcpkg helpers the portfile calls are replaced by minimal stand-ins that run the same CMake
# steps (configure with the port's options, build the install target into the package
# directory), so the real portfile is executed and its result is checked the way vcpkg's
# post-build checks would: package config in share/ccl, a copyright file, no debug tree, no
# libraries. The manifest's version must be the project's.

cmake_minimum_required(VERSION 3.25)
foreach(var CCL_SOURCE_DIR WORK_DIR PACKAGES_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "vcpkg_port.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT GENERATOR)
  set(GENERATOR "Ninja")
endif()
if(NOT FEATURES)
  set(FEATURES core)
endif()
string(REPLACE "," ";" FEATURES "${FEATURES}")

set(port_dir "${CCL_SOURCE_DIR}/packaging/vcpkg/ports/ccl")
set(PORT ccl)
set(TARGET_TRIPLET x64-linux)
set(CURRENT_PACKAGES_DIR "${PACKAGES_DIR}")
set(CURRENT_BUILDTREES_DIR "${WORK_DIR}/buildtrees")
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}" "${CURRENT_BUILDTREES_DIR}")

# The manifest must parse and carry the project's version.
file(READ "${port_dir}/vcpkg.json" manifest)
string(JSON port_name GET "${manifest}" name)
string(JSON port_version GET "${manifest}" version-semver)
file(STRINGS "${CCL_SOURCE_DIR}/CMakeLists.txt" project_line REGEX "^project\\(ccl VERSION")
string(REGEX MATCH "VERSION ([0-9.]+)" _ "${project_line}")
if(NOT port_name STREQUAL "ccl" OR NOT port_version STREQUAL CMAKE_MATCH_1)
  message(FATAL_ERROR "vcpkg.json says ${port_name} ${port_version}; the project is ccl ${CMAKE_MATCH_1}")
endif()
message("[vcpkg] port ${port_name} ${port_version}, features: ${FEATURES}")

# --- stand-ins for the vcpkg helpers used by the portfile ---------------------------------------
function(vcpkg_check_features)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_FEATURE_OPTIONS" "FEATURES;INVERTED_FEATURES")
  set(options "")
  while(arg_FEATURES)
    list(POP_FRONT arg_FEATURES feature option)
    if(feature IN_LIST FEATURES)
      list(APPEND options "-D${option}=ON")
    else()
      list(APPEND options "-D${option}=OFF")
    endif()
  endwhile()
  set(${arg_OUT_FEATURE_OPTIONS} "${options}" PARENT_SCOPE)
endfunction()

function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH" "OPTIONS;OPTIONS_RELEASE")
  if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
    message(FATAL_ERROR "[vcpkg] the stand-in only models release-only (header-only) ports")
  endif()
  set(build "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-rel")
  set(command "${CMAKE_COMMAND}" -S "${arg_SOURCE_PATH}" -B "${build}" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release "-DCMAKE_INSTALL_PREFIX=${CURRENT_PACKAGES_DIR}"
      ${arg_OPTIONS} ${arg_OPTIONS_RELEASE})
  if(CXX_COMPILER)
    list(APPEND command "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  endif()
  string(REPLACE ";" " " shown "${command}")
  message("[vcpkg] vcpkg_cmake_configure: ${shown}")
  execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[vcpkg] configure failed:\n${out}")
  endif()
endfunction()

function(vcpkg_cmake_install)
  set(build "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-rel")
  message("[vcpkg] vcpkg_cmake_install: cmake --build ${build} --target install")
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${build}" --target install
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[vcpkg] install failed:\n${out}")
  endif()
endfunction()

function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "PACKAGE_NAME;CONFIG_PATH" "")
  # vcpkg moves CONFIG_PATH to share/<PACKAGE_NAME>; the port installs there directly, so the
  # stand-in only checks that nothing would need moving.
  if(NOT arg_CONFIG_PATH STREQUAL "share/${arg_PACKAGE_NAME}")
    message(FATAL_ERROR "[vcpkg] the stand-in expects CONFIG_PATH share/${arg_PACKAGE_NAME}")
  endif()
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}/${arg_PACKAGE_NAME}Config.cmake")
    message(FATAL_ERROR "[vcpkg] no ${arg_PACKAGE_NAME}Config.cmake in ${arg_CONFIG_PATH}")
  endif()
  message("[vcpkg] vcpkg_cmake_config_fixup: ${arg_CONFIG_PATH}/${arg_PACKAGE_NAME}Config.cmake")
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  file(READ "${arg_FILE_LIST}" text)
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${text}")
endfunction()
# -----------------------------------------------------------------------------------------------

include("${port_dir}/portfile.cmake")

# What vcpkg's post-build checks would demand of a header-only package.
foreach(required "share/ccl/cclConfig.cmake" "share/ccl/cclConfigVersion.cmake"
                 "share/ccl/cclTargets.cmake" "share/ccl/copyright" "share/ccl/usage"
                 "include/ccl/ccl.hpp")
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/${required}")
    message(FATAL_ERROR "[vcpkg] the package lacks ${required}")
  endif()
endforeach()
foreach(forbidden "debug" "lib" "bin" "share/cmake")
  if(EXISTS "${CURRENT_PACKAGES_DIR}/${forbidden}")
    message(FATAL_ERROR "[vcpkg] a header-only package must not contain ${forbidden}/")
  endif()
endforeach()
message("[vcpkg] package staged in ${CURRENT_PACKAGES_DIR}: layout as vcpkg expects")
