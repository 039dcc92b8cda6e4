// The one Catch2 main shared by every test executable: compiled once into a static library so
// that each tests/test_*.cpp only compiles its own test cases.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
