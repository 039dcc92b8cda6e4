# Downstream-project tests: each configures, builds and runs tests/consumer/main.cpp against ccl
# through one documented route (docs/install.md), in a scratch directory under the build tree.

set(_ccl_consumer_args
  "-DCCL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "-DCCL_BINARY_DIR=${PROJECT_BINARY_DIR}"
  "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
  "-DGENERATOR=${CMAKE_GENERATOR}")
set(_ccl_consumer_work "${CMAKE_CURRENT_BINARY_DIR}/consumer")

foreach(route installed subdirectory fetchcontent vcpkg)
  add_test(NAME consumer.${route}
           COMMAND "${CMAKE_COMMAND}" ${_ccl_consumer_args} "-DROUTE=${route}"
                   "-DWORK_DIR=${_ccl_consumer_work}/${route}"
                   -P "${CMAKE_CURRENT_LIST_DIR}/check_route.cmake")
  set_tests_properties(consumer.${route} PROPERTIES
    LABELS consumer TIMEOUT 600 PASS_REGULAR_EXPRESSION "\\[consumer/${route}\\] PASSED")
endforeach()

# The vcpkg port's cuda feature (CCL_ENABLE_CUDA=ON), where this build found a CUDA compiler.
if(CCL_CUDA_ENABLED)
  add_test(NAME consumer.vcpkg_cuda
           COMMAND "${CMAKE_COMMAND}" ${_ccl_consumer_args} -DROUTE=vcpkg -DFEATURES=core,cuda
                   "-DWORK_DIR=${_ccl_consumer_work}/vcpkg_cuda"
                   -P "${CMAKE_CURRENT_LIST_DIR}/check_route.cmake")
  set_tests_properties(consumer.vcpkg_cuda PROPERTIES
    LABELS consumer TIMEOUT 600 PASS_REGULAR_EXPRESSION "\\[consumer/vcpkg\\] PASSED")
endif()

# Conan 2: `conan create` with the offline profile, then the recipe's test_package. Reported as
# "Skipped" by ctest when no Conan 2 client is found.
find_program(CCL_CONAN_EXECUTABLE conan DOC "Conan 2 client used by the consumer.conan test")
add_test(NAME consumer.conan
         COMMAND "${CMAKE_COMMAND}" "-DCCL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                 "-DCONAN=${CCL_CONAN_EXECUTABLE}" "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
                 "-DCXX_COMPILER_ID=${CMAKE_CXX_COMPILER_ID}"
                 "-DCXX_COMPILER_VERSION=${CMAKE_CXX_COMPILER_VERSION}"
                 "-DWORK_DIR=${_ccl_consumer_work}/conan"
                 -P "${CMAKE_CURRENT_LIST_DIR}/conan_create.cmake")
set_tests_properties(consumer.conan PROPERTIES
  LABELS consumer TIMEOUT 900 SKIP_REGULAR_EXPRESSION "\\[consumer/conan\\] SKIPPED"
  PASS_REGULAR_EXPRESSION "\\[consumer/conan\\] PASSED")

# docs/install.md must show the consumer CMakeLists.txt files above verbatim.
add_test(NAME consumer.docs_in_sync
         COMMAND "${CMAKE_COMMAND}" "-DCCL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                 -P "${CMAKE_CURRENT_LIST_DIR}/check_docs.cmake")
set_tests_properties(consumer.docs_in_sync PROPERTIES LABELS consumer)

# The installed package's distributed components (find_package(ccl COMPONENTS mpi), ccl::nccl
# where NCCL is found), run under mpiexec on 2 ranks. Needs MPI here.
if(CCL_HAVE_MPI)
  set(_ccl_mpiexec_flags --oversubscribe)
  execute_process(COMMAND id -u OUTPUT_VARIABLE _ccl_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_ccl_uid STREQUAL "0")
    list(APPEND _ccl_mpiexec_flags --allow-run-as-root)
  endif()
  add_test(NAME consumer.dist
           COMMAND "${CMAKE_COMMAND}" "-DCCL_BINARY_DIR=${PROJECT_BINARY_DIR}"
                   "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}" "-DGENERATOR=${CMAKE_GENERATOR}"
                   "-DMPIEXEC=${MPIEXEC_EXECUTABLE}" "-DMPIEXEC_FLAGS=${_ccl_mpiexec_flags}"
                   "-DWORK_DIR=${_ccl_consumer_work}/dist"
                   -P "${CMAKE_CURRENT_LIST_DIR}/check_dist.cmake")
  set_tests_properties(consumer.dist PROPERTIES
    LABELS consumer TIMEOUT 600 ENVIRONMENT "CCL_THREADS=1"
    PASS_REGULAR_EXPRESSION "\\[consumer/dist\\] PASSED")
endif()
