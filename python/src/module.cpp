// The _ccl extension module: ccl's losses and the Residual composition head on arrays that
// arrive through DLPack (arrays.hpp says what is copied and what is not).
#include "arrays.hpp"
#include "bindings.hpp"

#include <ccl/core/error.hpp>

#include <cstdint>

namespace nb = nanobind;

NB_MODULE(_ccl, m) {
  // ccl::error becomes ccl.Error, a ValueError: every ccl error is about a bad argument.
  // An autograd graph still alive when the interpreter exits holds ResidualHead objects (in the
  // Function's ctx); PyTorch frees them after nanobind's leak check would run, so that check
  // reports false leaks in ordinary scripts. The tests check for real growth instead.
  nb::set_leak_warnings(false);
  static nb::object error_type = nb::exception<ccl::error>(m, "Error", PyExc_ValueError);
  ccl_python::bind_losses(m);
  ccl_python::bind_residual(m);
  // Whether this build has the CUDA backend (python/CMakeLists.txt, CCL_PYTHON_CUDA); the
  // submodule _ccl.cuda holds the device versions of the losses.
#if defined(CCL_PYTHON_HAS_CUDA)
  ccl_python::bind_cuda(m);
  m.attr("has_cuda") = true;
#else
  m.attr("has_cuda") = false;
#endif
  // The address at which the extension sees an array after the DLPack/buffer import: the tests
  // compare it with the framework's own pointer to prove that nothing was copied.
  m.def(
      "_data_address",
      [](nb::ndarray<nb::ro> array) { return reinterpret_cast<std::uintptr_t>(array.data()); },
      nb::arg("array").noconvert());
}
