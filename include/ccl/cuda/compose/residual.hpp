#pragma once
// compose::Residual<Scalar, ccl::cuda>: the paper's residual composition head
// (compose/residual.hpp), the one class written for every backend, on the device: device views,
// Parameter<Scalar, ccl::cuda>, the CPU policy's names, options, checks and messages. This
// header brings the device side of what the class is written over (nn::Linear and the ops for
// device views, the device ConcatInput engine).

#include <ccl/compose/composition.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/cuda/compose/detail/common.hpp>

namespace ccl::compose {

static_assert(assert_composition<Residual<float, cuda>>());

}  // namespace ccl::compose
