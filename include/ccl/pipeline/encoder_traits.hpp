#pragma once
// What the pipeline needs from an encoder (a student's or a frozen teacher's network):
//
//   forward(const Input& x)      -> anything an EmbeddingView<const Scalar> converts from
//                                   ([B, D] embeddings: a RowMatrix, a Map, a view)
//   backward(grad_embedding)        ADDS the parameters' gradients (students only), taking
//                                   either an EmbeddingView<const Scalar> (nn::Linear) or the
//                                   encoder's rank-2 Output tensor (an nn::Sequential that ends
//                                   in global pooling or Flatten + Linear)
//   for_each_parameter(visit)       visit(Parameter<Scalar>&)
//   set_training(bool)              optional: batch norm / dropout switch train vs inference
//
// nn::Linear is the smallest encoder; the modality encoders of ccl/nn model the same interface.
// Every trait takes the backend: a device encoder (ccl::cuda) returns device embeddings
// (EmbeddingView<const Scalar, ccl::cuda> or what converts to it) and owns Parameter<Scalar,
// ccl::cuda>; the code below is the same for both.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/parameter.hpp>

#include <type_traits>
#include <utility>

namespace ccl::pipeline {

namespace detail {

template <class E, class = void>
struct has_set_training : std::false_type {};
template <class E>
struct has_set_training<E, std::void_t<decltype(std::declval<E&>().set_training(true))>>
    : std::true_type {};

template <class E, class Input, class Scalar, class Backend = cpu, class = void>
struct has_embedding_forward : std::false_type {};
template <class E, class Input, class Scalar, class Backend>
struct has_embedding_forward<
    E, Input, Scalar, Backend,
    std::void_t<decltype(std::declval<E&>().forward(std::declval<const Input&>()))>>
    : std::is_convertible<decltype(std::declval<E&>().forward(std::declval<const Input&>())),
                          EmbeddingView<const Scalar, Backend>> {};

template <class E, class Scalar, class Backend = cpu, class = void>
struct has_view_backward : std::false_type {};
template <class E, class Scalar, class Backend>
struct has_view_backward<E, Scalar, Backend,
                         std::void_t<decltype(std::declval<E&>().backward(
                             std::declval<EmbeddingView<const Scalar, Backend>>()))>>
    : std::true_type {};

template <class E, class = void>
struct has_tensor_backward : std::false_type {};
template <class E>
struct has_tensor_backward<
    E, std::void_t<typename E::Output, decltype(std::declval<E&>().backward(
                                           std::declval<const typename E::Output&>()))>>
    : std::bool_constant<E::Output::rank == 2> {};

template <class E, class Scalar, class Backend = cpu>
struct has_embedding_backward : std::bool_constant<has_view_backward<E, Scalar, Backend>::value ||
                                                   has_tensor_backward<E>::value> {};

// An encoder that hands its input rows through as the embedding (pipeline::Features) declares
// `static constexpr bool passes_features_through = true`.
template <class E, class = void>
struct passes_features_through : std::false_type {};
template <class E>
struct passes_features_through<E, std::void_t<decltype(E::passes_features_through)>>
    : std::bool_constant<E::passes_features_through> {};

template <class E, class Scalar, class Backend = cpu>
struct has_parameters : std::bool_constant<has_parameters_v<E, Scalar, Backend>> {};

}  // namespace detail

/// Back-propagates dL/dx_v into an encoder whichever form of backward it has; `scratch` holds the
/// tensor copy an nn network needs, so no allocation happens after the first step.
template <class Encoder, class Scalar, class Backend, class Scratch>
void backward_embedding(Encoder& encoder, EmbeddingView<const Scalar, Backend> grad,
                        Scratch& scratch, const Execution<Backend>& execution) {
  if constexpr (detail::has_view_backward<Encoder, Scalar, Backend>::value) {
    encoder.backward(grad);
  } else {
    if (scratch.shape()[0] != grad.rows() || scratch.shape()[1] != grad.cols()) {
      scratch.resize({grad.rows(), grad.cols()});
    }
    copy_into(grad, scratch.mutable_view(), execution);
    encoder.backward(scratch);
  }
}

/// Switches an encoder between training and inference behaviour when it has any.
template <class Encoder>
void set_training(Encoder& encoder, bool training) {
  if constexpr (detail::has_set_training<Encoder>::value) encoder.set_training(training);
}

}  // namespace ccl::pipeline
