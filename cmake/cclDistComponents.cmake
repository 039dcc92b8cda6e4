# The optional distributed components of an installed ccl (docs/distributed.md), included by
# cclConfig.cmake:
#
#   find_package(ccl CONFIG REQUIRED COMPONENTS mpi)          -> ccl::mpi   (<ccl/dist/mpi.hpp>)
#   find_package(ccl CONFIG REQUIRED OPTIONAL_COMPONENTS nccl) -> ccl::nccl when NCCL is found
#
# They are defined here, on the consumer's machine, rather than exported from the build that
# installed ccl: a cluster's MPI (a module, a vendor MPI) and its CUDA/NCCL are seldom the ones
# ccl was built next to, and the headers need only their standard C APIs. ccl::ccl never depends
# on them. Components not asked for are not looked for.

if("mpi" IN_LIST ccl_FIND_COMPONENTS OR "nccl" IN_LIST ccl_FIND_COMPONENTS)
  if(NOT TARGET ccl::mpi)
    # The CXX component: it gives the C API to C++ sources (ccl uses no MPI C++ bindings).
    find_package(MPI QUIET COMPONENTS CXX)
    if(MPI_CXX_FOUND)
      add_library(ccl::mpi INTERFACE IMPORTED)
      set_target_properties(ccl::mpi PROPERTIES INTERFACE_LINK_LIBRARIES "ccl::ccl;MPI::MPI_CXX")
    endif()
  endif()
  if(TARGET ccl::mpi)
    set(ccl_mpi_FOUND TRUE)
  else()
    set(ccl_mpi_FOUND FALSE)
    if(ccl_FIND_REQUIRED_mpi)
      set(ccl_NOT_FOUND_MESSAGE
          "ccl component mpi needs an MPI (find_package(MPI COMPONENTS CXX) found none; Debian: libopenmpi-dev)")
    endif()
  endif()
endif()

if("nccl" IN_LIST ccl_FIND_COMPONENTS)
  if(NOT TARGET ccl::nccl AND TARGET ccl::mpi)
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      find_path(ccl_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
      find_library(ccl_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
    endif()
    if(CUDAToolkit_FOUND AND ccl_NCCL_INCLUDE_DIR AND ccl_NCCL_LIBRARY)
      add_library(ccl::nccl INTERFACE IMPORTED)
      set_target_properties(ccl::nccl PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${ccl_NCCL_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "ccl::mpi;CUDA::cudart;${ccl_NCCL_LIBRARY}")
    endif()
  endif()
  if(TARGET ccl::nccl)
    set(ccl_nccl_FOUND TRUE)
  else()
    set(ccl_nccl_FOUND FALSE)
    if(ccl_FIND_REQUIRED_nccl)
      set(ccl_NOT_FOUND_MESSAGE
          "ccl component nccl needs MPI, the CUDA toolkit and NCCL (nccl.h, libnccl)")
    endif()
  endif()
endif()
