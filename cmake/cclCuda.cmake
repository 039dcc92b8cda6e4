# The optional CUDA backend: an INTERFACE target ccl_cuda (ccl::cuda) for translation units that
# include <ccl/cuda.hpp> and are compiled by nvcc.
#
#   CCL_ENABLE_CUDA   AUTO (default): on when CMake's check_language(CUDA) finds nvcc
#                     ON:   required; configuring fails without a CUDA compiler
#                     OFF:  never look for CUDA
#
# CPU-only users never need nvcc: with AUTO and no toolkit this file only prints a status line.
# The default device code targets sm_80 (A100) and sm_90 (H100/H200); set CMAKE_CUDA_ARCHITECTURES
# (or the CUDAARCHS environment variable) to choose others, e.g. -DCMAKE_CUDA_ARCHITECTURES=80
# for a quicker single-architecture build.
#
# Outputs: target ccl_cuda / ccl::cuda, CCL_CUDA_ENABLED (ON/OFF), CCL_CUDA_HAS_CUDNN (ON/OFF).

set(CCL_ENABLE_CUDA "AUTO" CACHE STRING "Build the CUDA backend target ccl::cuda: AUTO, ON or OFF")
set_property(CACHE CCL_ENABLE_CUDA PROPERTY STRINGS AUTO ON OFF)
option(CCL_CUDA_USE_CUDNN "Link cuDNN into ccl::cuda when it is found (needed by the conv layers)" ON)

set(CCL_CUDA_ENABLED OFF)
set(CCL_CUDA_HAS_CUDNN OFF)

string(TOUPPER "${CCL_ENABLE_CUDA}" _ccl_cuda_mode)
if(_ccl_cuda_mode STREQUAL "AUTO")
  set(_ccl_cuda_required OFF)
elseif(CCL_ENABLE_CUDA)  # ON, TRUE, YES, 1, ...
  set(_ccl_cuda_required ON)
else()
  message(STATUS "ccl: CUDA backend disabled (CCL_ENABLE_CUDA=${CCL_ENABLE_CUDA})")
  return()
endif()

if(NOT CMAKE_CUDA_COMPILER)
  include(CheckLanguage)
  check_language(CUDA)
endif()
if(NOT CMAKE_CUDA_COMPILER)
  if(_ccl_cuda_required)
    message(FATAL_ERROR "ccl: CCL_ENABLE_CUDA=ON but no CUDA compiler was found. Put nvcc on "
                        "PATH or set CMAKE_CUDA_COMPILER, or configure with -DCCL_ENABLE_CUDA=OFF.")
  endif()
  message(STATUS "ccl: no CUDA compiler found; building without ccl::cuda (CCL_ENABLE_CUDA=AUTO)")
  return()
endif()

# Must precede enable_language: CMake would otherwise pick its own default, which for recent
# toolkits can be an architecture nvcc no longer supports. sm_80 and sm_90 cover A100 and H100/H200;
# the fused kernels' TF32 path needs sm_80 or newer.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
  set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures ccl's device code targets")
endif()
enable_language(CUDA)
if(NOT DEFINED CMAKE_CUDA_STANDARD)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
endif()

find_package(CUDAToolkit REQUIRED)

add_library(ccl_cuda INTERFACE)
add_library(ccl::cuda ALIAS ccl_cuda)
set_target_properties(ccl_cuda PROPERTIES EXPORT_NAME cuda)
target_link_libraries(ccl_cuda INTERFACE ccl::ccl CUDA::cudart CUDA::cublas)
target_compile_features(ccl_cuda INTERFACE cuda_std_17)
# Eigen is host-only in ccl: without EIGEN_NO_CUDA, Eigen 3.4 marks its functions
# __host__ __device__ under nvcc and floods every .cu file with warnings (#20012, #20013).
target_compile_definitions(ccl_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:EIGEN_NO_CUDA>)

# cuDNN ships no CMake package: find its header and library next to the toolkit (or under
# CUDNN_ROOT / the CUDNN_ROOT environment variable, e.g. a pip or tarball installation).
if(CCL_CUDA_USE_CUDNN)
  find_path(CCL_CUDNN_INCLUDE_DIR cudnn.h
            HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  find_library(CCL_CUDNN_LIBRARY cudnn
               HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ${CUDAToolkit_LIBRARY_DIR}
               PATH_SUFFIXES lib64 lib)
  mark_as_advanced(CCL_CUDNN_INCLUDE_DIR CCL_CUDNN_LIBRARY)
  if(CCL_CUDNN_INCLUDE_DIR AND CCL_CUDNN_LIBRARY)
    set(CCL_CUDA_HAS_CUDNN ON)
    # An absolute path (no imported target) so that the exported ccl::cuda stays usable without
    # a cuDNN find module on the consumer side.
    if(NOT CCL_CUDNN_INCLUDE_DIR IN_LIST CUDAToolkit_INCLUDE_DIRS)
      target_include_directories(ccl_cuda SYSTEM INTERFACE "${CCL_CUDNN_INCLUDE_DIR}")
    endif()
    target_link_libraries(ccl_cuda INTERFACE "${CCL_CUDNN_LIBRARY}")
    target_compile_definitions(ccl_cuda INTERFACE CCL_CUDA_HAS_CUDNN=1)
  endif()
endif()

set(CCL_CUDA_ENABLED ON)
if(CCL_CUDA_HAS_CUDNN)
  set(_ccl_cudnn_status "cuDNN ${CCL_CUDNN_LIBRARY}")
else()
  set(_ccl_cudnn_status "no cuDNN")
endif()
message(STATUS "ccl: CUDA backend ccl::cuda enabled (CUDA ${CUDAToolkit_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES}, ${_ccl_cudnn_status})")
