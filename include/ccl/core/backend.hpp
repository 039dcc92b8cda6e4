#pragma once
// Backend tags, the trait that reads a component's backend, and the engine customisation point.
//
// Components are templates over a backend tag (ccl::cpu, ccl::cuda) and are written once; a
// backend is selected at compile time, never with #ifdef or a runtime test, by one of two
// mechanisms (docs/architecture.md):
//   - ops overloaded on the backend of their arguments (core/backend_matrix.hpp,
//     nn/tensor_ops.hpp; the CUDA overloads under <ccl/cuda/...>), called unqualified so that
//     argument-dependent lookup finds the overload of the instantiating backend;
//   - engines: class templates specialised on the backend tag where a kernel is the algorithm,
//     either Implementation<Op, Backend> below (a static run(...), called through dispatch())
//     or a small engine class whose primary template is the host version.

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

/// The backend a component declares (`using backend_type = ...;`); ccl::cpu for one that declares
/// none (user teachers, objectives and compositions written for the host). The one trait for
/// "which backend is this component".
template <class T, class = void>
struct backend_of {
  using type = cpu;
};
template <class T>
struct backend_of<T, std::void_t<typename T::backend_type>> {
  using type = typename T::backend_type;
};
template <class T>
using backend_of_t = typename backend_of<T>::type;

/// Whether T declares a backend_type at all (NoComposition, never called, declares none).
template <class T, class = void>
struct declares_backend : std::false_type {};
template <class T>
struct declares_backend<T, std::void_t<typename T::backend_type>> : std::true_type {};
template <class T>
inline constexpr bool declares_backend_v = declares_backend<T>::value;

/// Engine customisation point: specialise Implementation<Op, Backend> with a static `run(...)`.
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
