# ccl_data_video (alias ccl::data_video): the optional dependencies of ccl/data/video/ and
# ccl/data/ucf51*.hpp — the HDF5 C library (the official per-video HDF5 files of JPEG frames,
# method.md §2.4), libjpeg-turbo (JPEG) and libpng (PNG). The core target ccl::ccl never depends
# on them. Linking ccl::data_video defines CCL_DATA_HAVE_HDF5 and CCL_DATA_HAVE_IMAGE_CODECS for
# what was found; without them the headers still compile (and compile on their own) and opening
# an HDF5 video or decoding a frame throws a ccl::error that says what to link. Like
# ccl::data_extras, the target is part of the build tree only (not exported).
#
# Debian: libhdf5-dev, libturbojpeg0-dev, libpng-dev (all in scripts/setup-debian.sh).

add_library(ccl_data_video INTERFACE)
add_library(ccl::data_video ALIAS ccl_data_video)
target_link_libraries(ccl_data_video INTERFACE ccl::ccl)

# FindHDF5 test-compiles a C program (and asks the h5cc wrapper), so it needs the C language;
# without a C compiler, pkg-config's hdf5.pc (Debian ships it) is the fallback.
set(CCL_DATA_HAVE_HDF5 OFF)
include(CheckLanguage)
if(NOT CMAKE_C_COMPILER)
  check_language(C)
endif()
if(CMAKE_C_COMPILER)
  enable_language(C)
  find_package(HDF5 QUIET COMPONENTS C)
endif()
find_package(PkgConfig QUIET)
if(NOT HDF5_FOUND AND PkgConfig_FOUND)
  pkg_check_modules(CCL_HDF5 QUIET IMPORTED_TARGET hdf5)
  if(CCL_HDF5_FOUND)
    target_link_libraries(ccl_data_video INTERFACE PkgConfig::CCL_HDF5)
    target_compile_definitions(ccl_data_video INTERFACE CCL_DATA_HAVE_HDF5)
    set(CCL_DATA_HAVE_HDF5 ON)
  endif()
endif()
if(HDF5_FOUND)
  if(TARGET hdf5::hdf5)
    target_link_libraries(ccl_data_video INTERFACE hdf5::hdf5)
  else()
    target_include_directories(ccl_data_video SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS}
                                                              ${HDF5_INCLUDE_DIRS})
    target_link_libraries(ccl_data_video INTERFACE ${HDF5_C_LIBRARIES})
    target_compile_definitions(ccl_data_video INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
  endif()
  target_compile_definitions(ccl_data_video INTERFACE CCL_DATA_HAVE_HDF5)
  set(CCL_DATA_HAVE_HDF5 ON)
endif()

# Image codecs: libjpeg-turbo's TurboJPEG API for JPEG and libpng's simplified API for PNG, both
# maintained and fuzzed upstream (ccl reads frames from files it must treat as hostile).
set(CCL_DATA_HAVE_IMAGE_CODECS OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(CCL_TURBOJPEG QUIET IMPORTED_TARGET libturbojpeg)
endif()
find_package(PNG QUIET)
if(CCL_TURBOJPEG_FOUND AND PNG_FOUND)
  target_link_libraries(ccl_data_video INTERFACE PkgConfig::CCL_TURBOJPEG PNG::PNG)
  target_compile_definitions(ccl_data_video INTERFACE CCL_DATA_HAVE_IMAGE_CODECS)
  set(CCL_DATA_HAVE_IMAGE_CODECS ON)
endif()

message(STATUS "ccl data video: HDF5 ${CCL_DATA_HAVE_HDF5}, "
               "image codecs (libjpeg-turbo, libpng) ${CCL_DATA_HAVE_IMAGE_CODECS}")
