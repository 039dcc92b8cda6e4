#pragma once
// The parts of the _ccl module, each defined in its own translation unit.
#include <nanobind/nanobind.h>

namespace ccl_python {

void bind_losses(nanobind::module_& m);
void bind_residual(nanobind::module_& m);
#if defined(CCL_PYTHON_HAS_CUDA)
void bind_cuda(nanobind::module_& m);  // cuda_bindings.cpp
#endif

}  // namespace ccl_python
