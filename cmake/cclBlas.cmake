# Optional CBLAS path of ccl::gemm (include/ccl/core/gemm.hpp): with CCL_BLAS=ON the INTERFACE
# target ccl::cblas is ccl::ccl plus CCL_USE_CBLAS and a CBLAS library (OpenBLAS preferred), so
# that every matrix product of ccl calls cblas_sgemm / cblas_dgemm instead of Eigen's kernel.
# The benchmarks build a second variant of each program on it (bench/CMakeLists.txt) and the test
# suite a second test_threads, so the path is measured and checked. ccl::ccl itself never links a
# BLAS; a consumer who wants the option defines CCL_USE_CBLAS and links its CBLAS the same way.
#
# The BLAS must not start threads of its own inside ccl's (each product already runs on one of
# ccl's threads): run OpenBLAS's pthread build with OPENBLAS_NUM_THREADS=1, or use its OpenMP or
# serial build (docs/performance.md, "GEMM kernel").
option(CCL_BLAS "Build the ccl::cblas target: ccl's products through a CBLAS (OpenBLAS)" OFF)
if(NOT CCL_BLAS)
  return()
endif()

find_library(CCL_CBLAS_LIBRARY NAMES openblas cblas blas
             PATH_SUFFIXES openblas-pthread openblas-openmp openblas-serial)
find_path(CCL_CBLAS_INCLUDE_DIR cblas.h
          PATH_SUFFIXES openblas openblas-pthread openblas-openmp openblas-serial
                        x86_64-linux-gnu aarch64-linux-gnu)
if(NOT CCL_CBLAS_LIBRARY OR NOT CCL_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "CCL_BLAS=ON needs a CBLAS library and cblas.h (Debian: libopenblas-dev); "
                      "found library '${CCL_CBLAS_LIBRARY}', header dir '${CCL_CBLAS_INCLUDE_DIR}'")
endif()
add_library(ccl_cblas INTERFACE)
add_library(ccl::cblas ALIAS ccl_cblas)
target_link_libraries(ccl_cblas INTERFACE ccl::ccl "${CCL_CBLAS_LIBRARY}")
target_include_directories(ccl_cblas SYSTEM INTERFACE "${CCL_CBLAS_INCLUDE_DIR}")
target_compile_definitions(ccl_cblas INTERFACE CCL_USE_CBLAS)
message(STATUS "ccl: CCL_BLAS on, ccl::cblas uses ${CCL_CBLAS_LIBRARY}")
