#pragma once
// PyTorch's default initialisation, drawn from a ccl::Rng so that a seed fixes every weight.
//
// nn.Linear and nn.ConvNd call kaiming_uniform_(weight, a = sqrt(5)), i.e. U(-b, b) with
//   b = gain * sqrt(3 / fan_in),  gain = sqrt(2 / (1 + a^2)) = sqrt(1 / 3)   =>   b = 1 /
//   sqrt(fan_in),
// and draw the bias from U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)); fan_in = in_channels *
// prod(kernel). method.md §3.1 and §3.4: the official code keeps these defaults (no custom init),
// so matching them matters for reproducing its training curves. The numbers themselves differ from
// PyTorch's (a different generator), only the distributions agree.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>

#include <cmath>

namespace ccl::nn::init {

/// The bound b of kaiming_uniform_(a): U(-b, b) with b = sqrt(6 / ((1 + a^2) * fan_in)).
inline double kaiming_uniform_bound(Index fan_in, double a = std::sqrt(5.0)) {
  require(fan_in > 0, "kaiming_uniform_bound: fan_in must be positive, got ", fan_in);
  return std::sqrt(6.0 / ((1.0 + a * a) * double(fan_in)));
}

/// Fills `weight` from kaiming_uniform_(a = sqrt(5)) and, when non-empty, `bias` from
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in that order (weight row-major first).
template <class Weight, class Bias>
void pytorch_default(Weight&& weight, Bias&& bias, Index fan_in, Rng& rng) {
  const double bound = kaiming_uniform_bound(fan_in);
  rng.fill_uniform(weight, -bound, bound);
  if (bias.size() > 0) {
    const double bias_bound = 1.0 / std::sqrt(double(fan_in));
    rng.fill_uniform(bias, -bias_bound, bias_bound);
  }
}

}  // namespace ccl::nn::init
