# consumer.dist: the installed package's distributed components. Installs ccl into a fresh prefix,
# configures tests/consumer/dist with find_package(ccl COMPONENTS mpi OPTIONAL_COMPONENTS nccl),
# builds it and runs it under mpiexec on 2 ranks.
#
#   cmake -DCCL_BINARY_DIR=<configured ccl build> -DWORK_DIR=<scratch> -DMPIEXEC=mpiexec
#         [-DMPIEXEC_FLAGS=--oversubscribe;...] [-DCXX_COMPILER=...] [-DGENERATOR=...]
#         -P check_dist.cmake

cmake_minimum_required(VERSION 3.25)
foreach(var CCL_BINARY_DIR WORK_DIR MPIEXEC)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_dist.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT GENERATOR)
  set(GENERATOR "Ninja")
endif()
set(tag "[consumer/dist]")

function(ccl_step description)
  message("${tag} ${description}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "-- (Installing|Up-to-date): [^\n]*\n" "" out "${out}")
  string(STRIP "${out}" out)
  if(out)
    string(REPLACE "\n" "\n${tag}   | " out "${out}")
    message("${tag}   | ${out}")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${tag} FAILED: ${description} (exit ${rc})")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(source "${WORK_DIR}/consumer")
set(build "${WORK_DIR}/consumer-build")
# Copied out of the ccl tree, so nothing can leak in by relative path.
file(COPY "${CMAKE_CURRENT_LIST_DIR}/dist/" DESTINATION "${source}")

ccl_step("install ccl into a fresh prefix"
         "${CMAKE_COMMAND}" --install "${CCL_BINARY_DIR}" --prefix "${prefix}")
file(GLOB_RECURSE components "${prefix}/*cclDistComponents.cmake")
if(NOT components)
  message(FATAL_ERROR "${tag} FAILED: cclDistComponents.cmake is not installed")
endif()
set(args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
         -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
if(CXX_COMPILER)
  list(APPEND args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
ccl_step("configure the consumer" "${CMAKE_COMMAND}" -S "${source}" -B "${build}" ${args})
ccl_step("build the consumer" "${CMAKE_COMMAND}" --build "${build}")
if(EXISTS "${build}/nccl_consumer")
  message("${tag} ccl::nccl found: nccl_consumer compiled and linked")
else()
  message("${tag} ccl::nccl not found here (optional component): only ccl::mpi built")
endif()
ccl_step("run the consumer on 2 ranks"
         "${MPIEXEC}" ${MPIEXEC_FLAGS} -np 2 "${build}/dist_consumer")
if(NOT step_output MATCHES "ccl::mpi consumer: 2 ranks, sum 3")
  message(FATAL_ERROR "${tag} FAILED: the consumer did not print the 2-rank sum")
endif()
message("${tag} PASSED")
