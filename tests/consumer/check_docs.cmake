# docs/install.md must quote the consumer projects the tests build, verbatim, so the
# documentation cannot drift from what is verified; test_package's program is the consumer's.
#
#   cmake -DCCL_SOURCE_DIR=<ccl> -P check_docs.cmake

cmake_minimum_required(VERSION 3.25)
file(READ "${CCL_SOURCE_DIR}/docs/install.md" doc)
set(failed OFF)
foreach(file "tests/consumer/installed/CMakeLists.txt" "tests/consumer/subdirectory/CMakeLists.txt"
             "tests/consumer/fetchcontent/CMakeLists.txt" "test_package/CMakeLists.txt"
             "tests/consumer/main.cpp")
  file(READ "${CCL_SOURCE_DIR}/${file}" text)
  string(FIND "${doc}" "${text}" at)
  if(at EQUAL -1)
    message("docs/install.md does not quote ${file} verbatim")
    set(failed ON)
  else()
    message("docs/install.md quotes ${file}")
  endif()
endforeach()
file(READ "${CCL_SOURCE_DIR}/tests/consumer/main.cpp" consumer)
file(READ "${CCL_SOURCE_DIR}/test_package/test_package.cpp" test_package)
if(NOT consumer STREQUAL test_package)
  message("test_package/test_package.cpp differs from tests/consumer/main.cpp")
  set(failed ON)
endif()
if(failed)
  message(FATAL_ERROR "docs/install.md is out of sync with the tested consumer projects")
endif()
