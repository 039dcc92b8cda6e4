#pragma once
// Backend tags. Every operation takes a tag as its first (defaulted) template or function argument
// and forwards to Implementation<Op, Backend>; the CPU specialisations live next to each op, the
// CUDA ones in <ccl/cuda/...> headers compiled by nvcc. Selecting a backend is therefore a
// compile-time decision that never needs #ifdef inside an algorithm.

#include <type_traits>
#include <utility>

namespace ccl {

/// Eigen on the host; always available.
struct cpu {
  static constexpr const char* name = "cpu";
};

/// CUDA device (cuBLAS, cuDNN and ccl's kernels); implementations come from <ccl/cuda.hpp>.
struct cuda {
  static constexpr const char* name = "cuda";
};

using default_backend = cpu;

template <class T>
struct is_backend : std::false_type {};
template <>
struct is_backend<cpu> : std::true_type {};
template <>
struct is_backend<cuda> : std::true_type {};
template <class T>
inline constexpr bool is_backend_v = is_backend<T>::value;

namespace detail {
template <class...>
inline constexpr bool dependent_false = false;
}  // namespace detail

/// Customisation point: specialise Implementation<Op, Backend> with a static `run(...)`.
/// The primary template only exists to give a readable error when an op is used with a backend
/// whose implementation header was not included.
template <class Op, class Backend>
struct Implementation {
  static_assert(is_backend_v<Backend>,
                "ccl: the backend argument must be a backend tag (ccl::cpu or ccl::cuda)");
  static_assert(detail::dependent_false<Op, Backend>,
                "ccl: this operation has no implementation for the chosen backend. For "
                "ccl::cuda include <ccl/cuda.hpp> and compile the translation unit with nvcc.");
};

/// Calls the implementation of `Op` for `Backend`; the single place where dispatch happens.
template <class Op, class Backend, class... Args>
decltype(auto) dispatch(Backend, Args&&... args) {
  static_assert(is_backend_v<Backend>,
                "ccl: the first argument must be a backend tag (ccl::cpu{} or ccl::cuda{})");
  return Implementation<Op, Backend>::run(std::forward<Args>(args)...);
}

}  // namespace ccl
