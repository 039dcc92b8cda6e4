#pragma once
// Helpers shared by the CUDA tests: random embeddings, CPU-vs-CUDA comparisons with stated
// tolerances, and the guard every [gpu] test starts with.

#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/device.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

namespace ccl::testing {

/// [gpu] tests run only through `test_cuda --require-device`, which skips without a device;
/// this guard keeps a hand-run `test_cuda` without arguments from failing on such machines.
#define CCL_REQUIRE_CUDA_DEVICE()                               \
  do {                                                          \
    const auto ccl_device_status = ::ccl::gpu::device_status(); \
    if (!ccl_device_status.available()) {                       \
      WARN("skipped: " << ccl_device_status.describe());        \
      return;                                                   \
    }                                                           \
  } while (false)

template <class Scalar>
RowMatrix<Scalar> random_matrix(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  RowMatrix<Scalar> m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = Scalar(rng.normal());
  return m;
}

/// max |a - b| / max(max |b|, floor): one number per matrix, robust to entries near zero.
template <class A, class B>
double scaled_max_error(const A& a, const B& b, double floor = 1e-30) {
  const double scale = std::max(double(b.cwiseAbs().maxCoeff()), floor);
  return double((a - b).cwiseAbs().maxCoeff()) / scale;
}

}  // namespace ccl::testing
