#pragma once
// ccl::Rng: the one seeded random source of the library (initialisation, shuffling, sampling of
// negatives, synthetic data).
//
// Why not std::uniform_real_distribution and friends: their algorithms are implementation-defined,
// so the same seed gives different numbers under libstdc++ and libc++, and results could not be
// reproduced across compilers. std::mt19937_64's output *is* fixed by the standard, and the
// conversions to floats, normals and bounded integers below are ours, so a seed means the same
// stream everywhere. The state can be saved and restored for bit-identical resume.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>

namespace ccl {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  std::uint64_t next_u64() { return engine_(); }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }

  /// Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  /// Standard normal by the Box–Muller transform (one of each pair is cached).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0;
    do {
      u1 = uniform();
    } while (u1 <= 0.0);
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * 3.14159265358979323846 * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// Uniform integer in [0, n) without modulo bias (rejection on the top of the 64-bit range).
  Index index(Index n) {
    require(n > 0, "Rng::index: the range must be non-empty, got n = ", n);
    const auto range = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t draw = 0;
    do {
      draw = engine_();
    } while (draw >= limit);
    return static_cast<Index>(draw % range);
  }

  /// Fills an Eigen matrix or array with U[low, high).
  template <class Dense>
  void fill_uniform(Dense&& out, double low, double high) {
    using Scalar = typename std::decay_t<Dense>::Scalar;
    for (Index i = 0; i < out.rows(); ++i)
      for (Index j = 0; j < out.cols(); ++j) out(i, j) = Scalar(uniform(low, high));
  }

  /// Fills an Eigen matrix or array with N(mean, stddev²).
  template <class Dense>
  void fill_normal(Dense&& out, double mean = 0.0, double stddev = 1.0) {
    using Scalar = typename std::decay_t<Dense>::Scalar;
    for (Index i = 0; i < out.rows(); ++i)
      for (Index j = 0; j < out.cols(); ++j) out(i, j) = Scalar(normal(mean, stddev));
  }

  /// Fisher–Yates shuffle of a random-access range.
  template <class Range>
  void shuffle(Range& range) {
    const auto n = static_cast<Index>(range.size());
    for (Index i = n - 1; i > 0; --i) {
      using std::swap;
      swap(range[static_cast<std::size_t>(i)], range[static_cast<std::size_t>(index(i + 1))]);
    }
  }

  /// The complete state as text (engine state plus the cached normal), for checkpoints.
  std::string state() const {
    std::ostringstream out;
    out.precision(17);
    out << engine_ << ' ' << has_spare_ << ' ' << std::hexfloat << spare_;
    return out.str();
  }

  void set_state(const std::string& text) {
    std::istringstream in(text);
    std::mt19937_64 engine;
    bool has_spare = false;
    double spare = 0;
    in >> engine >> has_spare >> std::hexfloat >> spare;
    require(!in.fail(), "Rng::set_state: the state text is corrupt");
    engine_ = engine;
    has_spare_ = has_spare;
    spare_ = spare;
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace ccl
