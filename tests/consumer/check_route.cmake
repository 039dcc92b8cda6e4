# Builds and runs a downstream project against ccl through one consumption route.
#
#   cmake -DROUTE=<installed|subdirectory|fetchcontent|vcpkg> -DCCL_SOURCE_DIR=<ccl source>
#         -DCCL_BINARY_DIR=<configured ccl build> -DWORK_DIR=<scratch dir>
#         [-DCXX_COMPILER=...] [-DGENERATOR=...] -P check_route.cmake
#
# installed     cmake --install into WORK_DIR/prefix, then find_package(ccl) from that prefix only
# subdirectory  add_subdirectory(<ccl source>)
# fetchcontent  FetchContent_MakeAvailable(ccl) from the local source (FETCHCONTENT_SOURCE_DIR_CCL)
# vcpkg         runs packaging/vcpkg/ports/ccl/portfile.cmake with stand-ins for the vcpkg
#               helpers (the same configure/install it drives) into a staging prefix, then
#               find_package(ccl) from there; -DFEATURES=core,cuda selects the cuda feature
#
# The consumer sources are copied out of the ccl tree first, so nothing can leak in by relative
# path.

cmake_minimum_required(VERSION 3.25)
foreach(var ROUTE CCL_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_route.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT GENERATOR)
  set(GENERATOR "Ninja")
endif()
set(tag "[consumer/${ROUTE}]")

# Runs one step, echoing the command and its output; stops the script on failure.
function(ccl_step description)
  string(REPLACE ";" " " shown "${ARGN}")
  message("${tag} ${description}\n${tag}   $ ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  # One line per installed file says nothing the summary below does not.
  string(REGEX REPLACE "-- (Installing|Up-to-date): [^\n]*\n" "" out "${out}")
  string(STRIP "${out}" out)
  if(out)
    string(REPLACE "\n" "\n${tag}   | " out "${out}")
    message("${tag}   | ${out}")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${tag} FAILED: ${description} (exit ${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(consumer_source "${WORK_DIR}/consumer")
set(consumer_build "${WORK_DIR}/consumer-build")
set(here "${CMAKE_CURRENT_LIST_DIR}")

set(common_args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
                -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
if(CXX_COMPILER)
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()

if(ROUTE STREQUAL "installed" OR ROUTE STREQUAL "vcpkg")
  set(consumer_dir "${here}/installed")
  set(prefix "${WORK_DIR}/prefix")
  if(ROUTE STREQUAL "installed")
    if(NOT CCL_BINARY_DIR)
      message(FATAL_ERROR "${tag} -DCCL_BINARY_DIR=<configured ccl build> is required")
    endif()
    ccl_step("install ccl into a fresh prefix"
             "${CMAKE_COMMAND}" --install "${CCL_BINARY_DIR}" --prefix "${prefix}")
  else()
    ccl_step("run the vcpkg port (portfile.cmake with vcpkg's helpers stood in)"
             "${CMAKE_COMMAND}" "-DCCL_SOURCE_DIR=${CCL_SOURCE_DIR}" "-DWORK_DIR=${WORK_DIR}/vcpkg"
             "-DGENERATOR=${GENERATOR}" "-DCXX_COMPILER=${CXX_COMPILER}"
             "-DPACKAGES_DIR=${prefix}" "-DFEATURES=${FEATURES}" -P "${here}/vcpkg_port.cmake")
  endif()
  # The licence: share/doc/ccl/LICENSE from cmake --install, share/ccl/copyright from the port.
  if(ROUTE STREQUAL "installed")
    set(licence "share/doc/ccl/LICENSE")
  else()
    set(licence "share/ccl/copyright")
  endif()
  foreach(required "include/ccl/ccl.hpp" "include/ccl/core/version.hpp" "${licence}")
    if(NOT EXISTS "${prefix}/${required}")
      message(FATAL_ERROR "${tag} FAILED: ${required} is not in the installed prefix")
    endif()
  endforeach()
  file(STRINGS "${prefix}/${licence}" apache REGEX "Apache License")
  if(NOT apache)
    message(FATAL_ERROR "${tag} FAILED: ${licence} is not the Apache-2.0 licence")
  endif()
  file(GLOB_RECURSE config RELATIVE "${prefix}" "${prefix}/*cclConfig.cmake")
  file(GLOB_RECURSE installed_headers "${prefix}/include/ccl/*.hpp")
  list(LENGTH installed_headers header_count)
  file(GLOB_RECURSE targets "${prefix}/*cclTargets.cmake")
  file(STRINGS "${targets}" cuda_target REGEX "add_library\\(ccl::cuda ")
  if(cuda_target)
    set(exports "ccl::ccl and ccl::cuda")
  else()
    set(exports "ccl::ccl")
  endif()
  message("${tag} prefix holds ${header_count} headers and ${config}, exporting ${exports}")
  if(FEATURES MATCHES "cuda" AND NOT cuda_target)
    message(FATAL_ERROR "${tag} FAILED: the cuda feature did not export ccl::cuda")
  endif()
  list(APPEND common_args "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(ROUTE STREQUAL "subdirectory")
  set(consumer_dir "${here}/subdirectory")
  list(APPEND common_args "-DCCL_SOURCE_DIR=${CCL_SOURCE_DIR}")
elseif(ROUTE STREQUAL "fetchcontent")
  set(consumer_dir "${here}/fetchcontent")
  # CUDA detection is left to the subdirectory route (AUTO there); this one saves the time.
  list(APPEND common_args "-DFETCHCONTENT_SOURCE_DIR_CCL=${CCL_SOURCE_DIR}"
              -DFETCHCONTENT_FULLY_DISCONNECTED=ON -DCCL_ENABLE_CUDA=OFF)
else()
  message(FATAL_ERROR "check_route.cmake: unknown ROUTE '${ROUTE}'")
endif()

file(COPY "${consumer_dir}/CMakeLists.txt" "${here}/main.cpp" DESTINATION "${consumer_source}")
ccl_step("configure the consumer project"
         "${CMAKE_COMMAND}" -S "${consumer_source}" -B "${consumer_build}" ${common_args})

file(STRINGS "${consumer_build}/CMakeCache.txt" cache)
if(ROUTE STREQUAL "installed" OR ROUTE STREQUAL "vcpkg")
  # find_package must have used the prefix, and compilation must see only its headers.
  list(FILTER cache INCLUDE REGEX "^ccl_DIR:")
  string(REGEX REPLACE "^ccl_DIR:[A-Z]+=" "" ccl_dir "${cache}")
  string(FIND "${ccl_dir}" "${prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "${tag} FAILED: ccl was found at '${ccl_dir}', not under ${prefix}")
  endif()
  file(READ "${consumer_build}/compile_commands.json" commands)
  string(FIND "${commands}" "${CCL_SOURCE_DIR}/include" leak)
  if(NOT leak EQUAL -1)
    message(FATAL_ERROR "${tag} FAILED: the consumer compiles against the source tree's headers")
  endif()
  message("${tag} find_package(ccl) used ${ccl_dir}")
else()
  # ccl is not the top-level project here: its tests and examples must stay out of the build.
  list(FILTER cache INCLUDE REGEX "^CCL_BUILD_(TESTS|EXAMPLES):BOOL=ON")
  if(cache)
    message(FATAL_ERROR "${tag} FAILED: a subproject ccl turned on ${cache}")
  endif()
endif()

ccl_step("build the consumer" "${CMAKE_COMMAND}" --build "${consumer_build}")
ccl_step("run the consumer" "${consumer_build}/consumer")
message("${tag} PASSED")
