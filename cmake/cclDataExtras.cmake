# ccl_data_extras (alias ccl::data_extras): the optional dependencies of ccl/data/ — zlib for
# gzipped IDX files (Fashion-MNIST) and libespeak-ng for synthesised speech (the tri-modal
# benchmark). The core target ccl::ccl never depends on them. Linking ccl::data_extras defines
# CCL_DATA_HAVE_ZLIB / CCL_DATA_HAVE_ESPEAK for what was found; without them the headers still
# compile and report a clear ccl::error when the missing feature is used.
#
# Debian: zlib1g-dev, libespeak-ng-dev (+ espeak-ng-data), dataset-fashion-mnist for the images.

add_library(ccl_data_extras INTERFACE)
add_library(ccl::data_extras ALIAS ccl_data_extras)
target_link_libraries(ccl_data_extras INTERFACE ccl::ccl)

find_package(ZLIB QUIET)
if(ZLIB_FOUND)
  target_link_libraries(ccl_data_extras INTERFACE ZLIB::ZLIB)
  target_compile_definitions(ccl_data_extras INTERFACE CCL_DATA_HAVE_ZLIB)
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CCL_ESPEAK_NG QUIET IMPORTED_TARGET espeak-ng)
endif()
if(CCL_ESPEAK_NG_FOUND)
  target_link_libraries(ccl_data_extras INTERFACE PkgConfig::CCL_ESPEAK_NG)
  target_compile_definitions(ccl_data_extras INTERFACE CCL_DATA_HAVE_ESPEAK)
endif()

set(CCL_DATA_HAVE_ZLIB ${ZLIB_FOUND})
set(CCL_DATA_HAVE_ESPEAK ${CCL_ESPEAK_NG_FOUND})
message(STATUS "ccl data extras: zlib ${ZLIB_FOUND}, espeak-ng ${CCL_ESPEAK_NG_FOUND}")

# The data tests (tests/test_data*.cpp, created by tests/CMakeLists.txt) use the extras when
# present; they skip the gzip/speech cases with a message otherwise. Linked at the end of the
# top-level directory, after every subdirectory has defined its targets.
function(_ccl_link_data_tests)
  get_property(_tests DIRECTORY "${PROJECT_SOURCE_DIR}/tests" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_target IN LISTS _tests)
    if(_target MATCHES "^test_data")
      target_link_libraries(${_target} PRIVATE ccl_data_extras)
    endif()
  endforeach()
endfunction()
if(CCL_BUILD_TESTS)
  cmake_language(DEFER DIRECTORY "${PROJECT_SOURCE_DIR}" CALL _ccl_link_data_tests)
endif()
