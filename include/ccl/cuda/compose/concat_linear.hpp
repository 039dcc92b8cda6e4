#pragma once
// compose::ConcatLinear<Scalar, ccl::cuda>: the concatenation head W · [x̂_t ; x̂_v] + b with its
// classifier (compose/concat_linear.hpp), the one class written for every backend, on the device:
// device views, Parameter<Scalar, ccl::cuda>, the CPU policy's names, options, checks and messages.
// This header brings the device side of what the class is written over (nn::Linear and the ops for
// device views, the device ConcatInput engine).

#include <ccl/compose/composition.hpp>
#include <ccl/compose/concat_linear.hpp>
#include <ccl/cuda/compose/detail/common.hpp>

namespace ccl::compose {

static_assert(assert_composition<ConcatLinear<float, cuda>>());

}  // namespace ccl::compose
