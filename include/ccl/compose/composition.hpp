#pragma once
// The interface every composition operator (a "composition policy") provides, and the trait that
// checks it. A composition maps a teacher embedding x_t [B, Dt] and the student's x_v [B, Dv] to
// a composed embedding x_tv [B, Dc] and to class logits z_tv [B, C] from its own classifier head
// (method.md §1, §3.4):
//
//   using scalar_type = Scalar;
//   CompositionOutput<Scalar> forward(EmbeddingView<const Scalar> teacher,
//                                     EmbeddingView<const Scalar> student);
//       computes x_tv and z_tv into workspaces of the policy; the returned views stay valid until
//       the next forward. Whatever backward needs is cached.
//   void backward(EmbeddingView<const Scalar> grad_composed,    // dL/dx_tv, or {} for zero
//                 EmbeddingView<const Scalar> grad_logits,      // dL/dz_tv, or {} for zero
//                 EmbeddingView<Scalar> grad_student,           // += dL/dx_v, skipped if {}
//                 EmbeddingView<Scalar> grad_teacher,           // += dL/dx_t, skipped if {}
//                 nn::ParameterGradients mode);                 // accumulate (default) or skip
//   template <class Visitor> void for_each_parameter(Visitor&&);   // visit(Parameter<Scalar>&)
//   void zero_grad();
//   Index teacher_dim(), student_dim(), composed_dim(), classes();
//
// Gradients into the teacher are off unless a grad_teacher view is passed: teachers are frozen
// in CCL (the poster marks their arrows "gradients do not flow"). Like the losses, backward ADDS
// into every gradient it writes, so several loss terms can be back-propagated one after another.
//
// Backends: every policy takes a trailing `class Backend = ccl::cpu` and declares
// `using backend_type = Backend;`. With ccl::cuda (the specialisations in <ccl/cuda/compose/...>)
// the views above are EmbeddingView<..., ccl::cuda>, the parameters Parameter<Scalar, ccl::cuda>
// and the output CompositionOutput<Scalar, ccl::cuda>; the contract is otherwise the same.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <type_traits>
#include <utility>

namespace ccl::compose {

/// Views of a composition's outputs; they point into the policy's workspaces.
template <class Scalar, class Backend = cpu>
struct CompositionOutput {
  EmbeddingView<const Scalar, Backend> composed;  ///< x_tv, [B, composed_dim()]
  EmbeddingView<const Scalar, Backend> logits;    ///< z_tv, [B, classes()]
};

namespace detail {

template <class C, class = void>
struct has_scalar_type : std::false_type {};
template <class C>
struct has_scalar_type<C, std::void_t<typename C::scalar_type>>
    : std::bool_constant<is_supported_scalar_v<typename C::scalar_type>> {};

// The members below are only probed once scalar_type is known to exist.
template <class C, class S, class B, class = void>
struct has_forward : std::false_type {};
template <class C, class S, class B>
struct has_forward<C, S, B,
                   std::void_t<decltype(std::declval<C&>().forward(
                       std::declval<EmbeddingView<const S, B>>(),
                       std::declval<EmbeddingView<const S, B>>()))>>
    : std::is_convertible<decltype(std::declval<C&>().forward(
                              std::declval<EmbeddingView<const S, B>>(),
                              std::declval<EmbeddingView<const S, B>>())),
                          CompositionOutput<S, B>> {};

template <class C, class S, class B, class = void>
struct has_backward : std::false_type {};
template <class C, class S, class B>
struct has_backward<C, S, B,
                    std::void_t<decltype(std::declval<C&>().backward(
                        std::declval<EmbeddingView<const S, B>>(),
                        std::declval<EmbeddingView<const S, B>>(),
                        std::declval<EmbeddingView<S, B>>(), std::declval<EmbeddingView<S, B>>(),
                        nn::ParameterGradients::accumulate))>> : std::true_type {};

template <class S, class B>
struct ParameterProbe {
  void operator()(Parameter<S, B>&) const {}
};

template <class C, class S, class B, class = void>
struct has_for_each_parameter : std::false_type {};
template <class C, class S, class B>
struct has_for_each_parameter<C, S, B,
                              std::void_t<decltype(std::declval<C&>().for_each_parameter(
                                  ParameterProbe<S, B>{}))>> : std::true_type {};

template <class C, class = void>
struct has_zero_grad : std::false_type {};
template <class C>
struct has_zero_grad<C, std::void_t<decltype(std::declval<C&>().zero_grad())>> : std::true_type {};

template <class C, class = void>
struct has_dims : std::false_type {};
template <class C>
struct has_dims<C, std::void_t<decltype(Index(std::declval<const C&>().teacher_dim())),
                               decltype(Index(std::declval<const C&>().student_dim())),
                               decltype(Index(std::declval<const C&>().composed_dim())),
                               decltype(Index(std::declval<const C&>().classes()))>>
    : std::true_type {};

template <class C, bool = has_scalar_type<C>::value>
struct composition_traits {
  static constexpr bool scalar = false, forward = false, backward = false, parameters = false,
                        zero_grad = false, dims = false, all = false;
};
template <class C>
struct composition_traits<C, true> {
  using S = typename C::scalar_type;
  using B = backend_of_t<C>;  // ccl::cpu for policies written before backends
  static constexpr bool scalar = true;
  static constexpr bool forward = has_forward<C, S, B>::value;
  static constexpr bool backward = has_backward<C, S, B>::value;
  static constexpr bool parameters = has_for_each_parameter<C, S, B>::value;
  static constexpr bool zero_grad = has_zero_grad<C>::value;
  static constexpr bool dims = has_dims<C>::value;
  static constexpr bool all = forward && backward && parameters && zero_grad && dims;
};

}  // namespace detail

/// True when C models the composition interface above.
template <class C>
inline constexpr bool is_composition_v = detail::composition_traits<C>::all;

/// Checks at a template boundary that C models a composition, with one readable message per
/// missing piece: `static_assert(compose::assert_composition<C>());`.
template <class C>
constexpr bool assert_composition() {
  using T = detail::composition_traits<C>;
  static_assert(T::scalar,
                "ccl::compose: a composition policy must declare `using scalar_type = float;` "
                "(or double)");
  static_assert(!T::scalar || T::forward,
                "ccl::compose: a composition policy needs `CompositionOutput<Scalar, Backend> "
                "forward(EmbeddingView<const Scalar, Backend> teacher, EmbeddingView<const "
                "Scalar, Backend> student)` (Backend: its backend_type, ccl::cpu by default)");
  static_assert(!T::scalar || T::backward,
                "ccl::compose: a composition policy needs `void backward(grad_composed, "
                "grad_logits, grad_student, grad_teacher, nn::ParameterGradients)` taking "
                "EmbeddingView<const Scalar, Backend> x2 and EmbeddingView<Scalar, Backend> x2");
  static_assert(!T::scalar || T::parameters,
                "ccl::compose: a composition policy needs `template <class V> void "
                "for_each_parameter(V&& visit)` calling visit(Parameter<Scalar, Backend>&)");
  static_assert(!T::scalar || T::zero_grad,
                "ccl::compose: a composition policy needs `void zero_grad()`");
  static_assert(!T::scalar || T::dims,
                "ccl::compose: a composition policy needs `teacher_dim()`, `student_dim()`, "
                "`composed_dim()` and `classes()` returning an Index");
  return true;
}

}  // namespace ccl::compose
