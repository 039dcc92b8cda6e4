# Build module of ccl's Conan package, included by the CMakeDeps-generated cclConfig.cmake after
# it has defined ccl::ccl (and ccl::cuda with the with_cuda option). It completes the targets the
# way ccl's own installed package config (cclConfig.cmake.in) defines them:
#
# - Eigen and Boost satisfied by a profile's [platform_requires] get no Conan-generated targets:
#   they are found on the system here and linked into ccl::ccl.
# - The CUDA toolkit is not a Conan package: ccl::cuda links its runtime and cuBLAS (and cuDNN
#   when found), as cmake/cclCuda.cmake does for a CMake build.

include(CMakeFindDependencyMacro)

if(TARGET ccl::ccl)
  if(NOT TARGET Eigen3::Eigen)
    find_dependency(Eigen3 3.4 NO_MODULE)
    target_link_libraries(ccl::ccl INTERFACE Eigen3::Eigen)
  endif()
  if(NOT TARGET Boost::headers)
    find_dependency(Boost 1.74)
    target_link_libraries(ccl::ccl INTERFACE Boost::headers)
  endif()
  target_compile_features(ccl::ccl INTERFACE cxx_std_17)
endif()

if(TARGET ccl::cuda)
  find_dependency(CUDAToolkit)
  target_link_libraries(ccl::cuda INTERFACE CUDA::cudart CUDA::cublas)
  # Eigen is host-only in ccl (see cmake/cclCuda.cmake).
  target_compile_definitions(ccl::cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:EIGEN_NO_CUDA>)
  find_path(CCL_CUDNN_INCLUDE_DIR cudnn.h HINTS ENV CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  find_library(CCL_CUDNN_LIBRARY cudnn HINTS ENV CUDNN_ROOT ${CUDAToolkit_LIBRARY_DIR}
               PATH_SUFFIXES lib64 lib)
  mark_as_advanced(CCL_CUDNN_INCLUDE_DIR CCL_CUDNN_LIBRARY)
  if(CCL_CUDNN_INCLUDE_DIR AND CCL_CUDNN_LIBRARY)
    target_include_directories(ccl::cuda SYSTEM INTERFACE "${CCL_CUDNN_INCLUDE_DIR}")
    target_link_libraries(ccl::cuda INTERFACE "${CCL_CUDNN_LIBRARY}")
    target_compile_definitions(ccl::cuda INTERFACE CCL_CUDA_HAS_CUDNN=1)
  endif()
endif()
