// The tiled CPU engine behind instance and multi-class NCE (detail/contrastive_engine.hpp):
// tiling the B x B similarity matrix, threading its rows and reusing workspaces must not change
// the values or gradients beyond the GEMMs' floating-point summation order. Every case compares
// against the untiled computation (tile_rows = B, one thread) of a fresh loss object, in double
// at 1e-12, for tile sizes that divide B and tile sizes that do not.

#include <ccl/core/parallel.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>

#include "support/finite_difference.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::loss::ContrastiveOptions;
using ccl::loss::InstanceNce;
using ccl::loss::MultiClassNce;
using ccl::loss::Numerics;
using ccl::testing::relative_error;

namespace {

template <class Scalar>
RowMatrix<Scalar> random_matrix(Index rows, Index cols, std::uint64_t seed) {
  ccl::Rng rng(seed);
  RowMatrix<double> m(rows, cols);
  rng.fill_normal(m);
  return m.cast<Scalar>();
}

std::vector<std::int64_t> labels(Index n, int classes) {
  std::vector<std::int64_t> y(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) y[std::size_t(i)] = (i * 7 + 3) % classes;
  return y;
}

ContrastiveOptions options(double tau, Numerics numerics, Index tile) {
  ContrastiveOptions o;
  o.temperature = tau;
  o.numerics = numerics;
  o.tile_rows = tile;
  return o;
}

/// Value and gradients of a fresh Loss with the given options.
template <template <class, class> class Loss, class Scalar>
auto evaluate(const RowMatrix<Scalar>& f, const RowMatrix<Scalar>& g,
              const std::vector<std::int64_t>& y, const ContrastiveOptions& o) {
  Loss<Scalar, ccl::cpu> loss(o);
  return loss(f, g, y);
}

/// Restores the thread setting a test changed, whatever the test's outcome.
struct ThreadSetting {
  ThreadSetting() = default;
  ThreadSetting(const ThreadSetting&) = delete;
  ThreadSetting& operator=(const ThreadSetting&) = delete;
  ~ThreadSetting() { ccl::set_num_threads(0); }
};

}  // namespace

TEST_CASE("tiled multi-class NCE equals the untiled computation in double", "[loss][tiling][nce]") {
  ThreadSetting restore;
  ccl::set_num_threads(1);  // each thread gets its own tile: tile_rows = B alone is not untiled
  const Index b = 37;       // prime: only 1 and 37 divide it
  const auto f = random_matrix<double>(b, 12, 1);
  const auto g = random_matrix<double>(b, 12, 2);
  const auto y = labels(b, 5);
  // τ = 0.05 makes dominant columns (p > 1/2) common, so rows take both code paths.
  for (const double tau : {0.5, 0.1, 0.05}) {
    for (const Numerics numerics : {Numerics::stable, Numerics::official}) {
      const auto whole = evaluate<MultiClassNce>(f, g, y, options(tau, numerics, b));
      for (const Index tile : {1, 2, 5, 8, 16, 36, 37, 100}) {
        CAPTURE(tau, int(numerics), tile);
        const auto tiled = evaluate<MultiClassNce>(f, g, y, options(tau, numerics, tile));
        CHECK(tiled.value == Approx(whole.value).epsilon(1e-12));
        CHECK(relative_error(tiled.grad_f, whole.grad_f) < 1e-12);
        CHECK(relative_error(tiled.grad_g, whole.grad_g) < 1e-12);
      }
    }
  }
}

TEST_CASE("tiled instance NCE equals the untiled computation in double", "[loss][tiling][nce]") {
  ThreadSetting restore;
  ccl::set_num_threads(1);  // each thread gets its own tile: tile_rows = B alone is not untiled
  const Index b = 30;
  const auto f = random_matrix<double>(b, 9, 3);
  const auto g = random_matrix<double>(b, 9, 4);
  for (const double tau : {0.5, 0.07}) {
    for (const Numerics numerics : {Numerics::stable, Numerics::official}) {
      const auto whole = evaluate<InstanceNce>(f, g, {}, options(tau, numerics, b));
      for (const Index tile : {1, 4, 7, 29, 30}) {
        CAPTURE(tau, int(numerics), tile);
        const auto tiled = evaluate<InstanceNce>(f, g, {}, options(tau, numerics, tile));
        CHECK(tiled.value == Approx(whole.value).epsilon(1e-12));
        CHECK(relative_error(tiled.grad_f, whole.grad_f) < 1e-12);
        CHECK(relative_error(tiled.grad_g, whole.grad_g) < 1e-12);
      }
    }
  }
}

TEST_CASE("tiling in float (the SIMD row path) agrees with the untiled float computation",
          "[loss][tiling][nce]") {
  ThreadSetting restore;
  ccl::set_num_threads(1);  // each thread gets its own tile: tile_rows = B alone is not untiled
  // 53 columns: full SIMD packets plus a scalar tail in every row.
  const Index b = 53;
  const auto f = random_matrix<float>(b, 16, 5);
  const auto g = random_matrix<float>(b, 16, 6);
  const auto y = labels(b, 4);
  for (const Numerics numerics : {Numerics::stable, Numerics::official}) {
    const auto whole = evaluate<MultiClassNce>(f, g, y, options(0.1, numerics, b));
    for (const Index tile : {3, 17, 52}) {
      CAPTURE(int(numerics), tile);
      const auto tiled = evaluate<MultiClassNce>(f, g, y, options(0.1, numerics, tile));
      CHECK(tiled.value == Approx(whole.value).epsilon(1e-5));
      CHECK(relative_error(tiled.grad_f, whole.grad_f) < 1e-5);
      CHECK(relative_error(tiled.grad_g, whole.grad_g) < 1e-5);
    }
  }
}

TEST_CASE("the automatic tile size gives the untiled result", "[loss][tiling]") {
  ThreadSetting restore;
  ccl::set_num_threads(1);  // each thread gets its own tile: tile_rows = B alone is not untiled
  const Index b = 300;      // above the smallest automatic tile, so several tiles may be used
  const auto f = random_matrix<double>(b, 8, 7);
  const auto g = random_matrix<double>(b, 8, 8);
  const auto y = labels(b, 11);
  const auto whole = evaluate<MultiClassNce>(f, g, y, options(0.2, Numerics::stable, b));
  const auto automatic = evaluate<MultiClassNce>(f, g, y, options(0.2, Numerics::stable, 0));
  CHECK(automatic.value == Approx(whole.value).epsilon(1e-12));
  CHECK(relative_error(automatic.grad_f, whole.grad_f) < 1e-12);
  CHECK(relative_error(automatic.grad_g, whole.grad_g) < 1e-12);
  CHECK(ccl::loss::detail::automatic_tile_rows<float>(1) == 1);
  CHECK(ccl::loss::detail::automatic_tile_rows<float>(100) == 100);
  CHECK(ccl::loss::detail::automatic_tile_rows<float>(65536) >= 256);
}

TEST_CASE("threaded rows and GEMMs give the single-threaded result", "[loss][tiling][threads]") {
  ThreadSetting restore;
  const Index b = 64;
  const auto f = random_matrix<double>(b, 10, 9);
  const auto g = random_matrix<double>(b, 10, 10);
  const auto y = labels(b, 6);
  for (const Numerics numerics : {Numerics::stable, Numerics::official}) {
    for (const Index tile : {b, Index(13)}) {
      CAPTURE(int(numerics), tile);
      ccl::set_num_threads(1);
      const auto serial = evaluate<MultiClassNce>(f, g, y, options(0.05, numerics, tile));
      const auto serial_instance = evaluate<InstanceNce>(f, g, {}, options(0.05, numerics, tile));
      for (const int threads : {2, 3}) {
        CAPTURE(threads);
        ccl::set_num_threads(threads);
        const auto threaded = evaluate<MultiClassNce>(f, g, y, options(0.05, numerics, tile));
        CHECK(threaded.value == Approx(serial.value).epsilon(1e-12));
        CHECK(relative_error(threaded.grad_f, serial.grad_f) < 1e-12);
        CHECK(relative_error(threaded.grad_g, serial.grad_g) < 1e-12);
        const auto instance = evaluate<InstanceNce>(f, g, {}, options(0.05, numerics, tile));
        CHECK(instance.value == Approx(serial_instance.value).epsilon(1e-12));
        CHECK(relative_error(instance.grad_f, serial_instance.grad_f) < 1e-12);
      }
    }
  }
}

TEST_CASE("a loss object reused across calls of different sizes matches fresh objects",
          "[loss][tiling][workspace]") {
  MultiClassNce<double> reused(options(0.3, Numerics::stable, 7));
  for (const Index b : {20, 45, 9, 45, 1}) {
    CAPTURE(b);
    const auto f = random_matrix<double>(b, 6, std::uint64_t(100 + b));
    const auto g = random_matrix<double>(b, 6, std::uint64_t(200 + b));
    const auto y = labels(b, 3);
    const auto fresh = evaluate<MultiClassNce>(f, g, y, options(0.3, Numerics::stable, 7));
    const auto again = reused(f, g, y);
    CHECK(again.value == fresh.value);
    CHECK(again.grad_f == fresh.grad_f);
    CHECK(again.grad_g == fresh.grad_g);
  }
}

TEST_CASE("parallel_for visits every index once and honours the thread setting",
          "[core][threads]") {
  ThreadSetting restore;
  for (const int threads : {1, 2, 4}) {
    CAPTURE(threads);
    ccl::set_num_threads(threads);
    CHECK(ccl::num_threads() == (ccl::has_openmp ? threads : 1));
    std::vector<int> visits(101, 0);  // each index is written by the one thread that owns it
    std::atomic<int> bad_thread{0};
    ccl::parallel_for(0, 101, [&](Index i, int thread) {
      ++visits[std::size_t(i)];
      if (thread < 0 || thread >= ccl::num_threads()) ++bad_thread;
    });
    for (const int v : visits) CHECK(v == 1);
    CHECK(bad_thread.load() == 0);
  }
  ccl::parallel_for(5, 5, [](Index, int) { FAIL("an empty range calls nothing"); });
  REQUIRE_THROWS_WITH(ccl::set_num_threads(-1),
                      Catch::Contains("set_num_threads") && Catch::Contains("-1"));
}
