# Conan 2 route, offline: `conan create` of ccl's recipe with packaging/conan/profiles/offline
# (Eigen and Boost from the system through [platform_requires], every remote removed), then the
# recipe's test_package against the created package.
#
#   cmake -DCCL_SOURCE_DIR=<ccl> -DWORK_DIR=<scratch> -DCONAN=<conan executable>
#         [-DCXX_COMPILER=...] -P conan_create.cmake
#
# Prints "[consumer/conan] SKIPPED" (ctest reports the test as skipped) without a Conan 2 client.
# Conan runs in its own CONAN_HOME under WORK_DIR, so the user's Conan cache is never touched.

cmake_minimum_required(VERSION 3.25)
set(tag "[consumer/conan]")

if(NOT CONAN OR NOT EXISTS "${CONAN}")
  message("${tag} SKIPPED: no conan executable was found when ccl was configured "
          "(pip install 'conan>=2' and reconfigure to run this test)")
  return()
endif()
execute_process(COMMAND "${CONAN}" --version OUTPUT_VARIABLE version RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT version MATCHES "version 2\\.")
  message("${tag} SKIPPED: '${CONAN}' is not a Conan 2 client (${version})")
  return()
endif()
message("${tag} ${version}")

function(ccl_step description)
  string(REPLACE ";" " " shown "${ARGN}")
  message("${tag} ${description}\n${tag}   $ ${shown}")
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${CCL_SOURCE_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
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
set(ENV{CONAN_HOME} "${WORK_DIR}/home")
if(CXX_COMPILER)
  set(ENV{CXX} "${CXX_COMPILER}")  # `conan profile detect` describes this compiler
endif()
set(profile "${CCL_SOURCE_DIR}/packaging/conan/profiles/offline")

ccl_step("detect the default profile" "${CONAN}" profile detect --force)
ccl_step("remove every remote: nothing may be downloaded" "${CONAN}" remote remove "*")
ccl_step("conan create (recipe only; test_package below)"
         "${CONAN}" create . -pr:a "${profile}" --no-remote --test-folder=)

file(STRINGS "${CCL_SOURCE_DIR}/include/ccl/core/version.hpp" version_line
     REGEX "#define CCL_VERSION_STRING")
string(REGEX MATCH "\"([^\"]+)\"" _ "${version_line}")
set(reference "ccl/${CMAKE_MATCH_1}")
# test_package is run from a copy, so that its build tree stays out of the source tree.
file(COPY "${CCL_SOURCE_DIR}/test_package" DESTINATION "${WORK_DIR}")
ccl_step("conan test test_package ${reference}"
         "${CONAN}" test "${WORK_DIR}/test_package" "${reference}" -pr:a "${profile}"
         --no-remote)
# The with_cuda option: same package (header-only), plus the ccl::cuda component, whose build
# module finds the CUDA toolkit. Only where a toolkit is installed.
find_program(nvcc nvcc HINTS ENV CUDA_PATH PATHS /usr/local/cuda/bin)
if(nvcc)
  ccl_step("conan test with -o ccl/*:with_cuda=True (ccl::cuda linked into test_package)"
           "${CONAN}" test "${WORK_DIR}/test_package" "${reference}" -pr:a "${profile}"
           -o "ccl/*:with_cuda=True" --no-remote)
else()
  message("${tag} no CUDA toolkit: the with_cuda option is not exercised")
endif()
message("${tag} PASSED")
