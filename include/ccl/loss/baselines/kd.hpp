#pragma once
// KD among the baselines (method.md §8.1): Hinton knowledge distillation lives with the other
// logit losses in <ccl/loss/kd.hpp>; this header gives it its baseline name so that every Table 1
// method is found under ccl::loss::baselines. RepDistiller's KD recipe: 0.1·CE + 0.9·KD, T = 4.

#include <ccl/core/backend.hpp>
#include <ccl/loss/kd.hpp>

namespace ccl::loss::baselines {

template <class Scalar, class Backend = cpu>
using Kd = ::ccl::loss::HintonKd<Scalar, Backend>;

using KdOptions = ::ccl::loss::HintonKdOptions;

/// RepDistiller's weights of the KD recipe: α on KD, γ on the cross-entropy.
inline constexpr double kd_default_alpha = 0.9;
inline constexpr double kd_default_gamma = 0.1;

}  // namespace ccl::loss::baselines
