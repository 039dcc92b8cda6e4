#pragma once
// The layer concept of ccl::nn and the traits that containers (Sequential, Residual) use.
//
// A layer L on Tensors provides
//   using scalar_type; using Input = Tensor<scalar_type, input_rank>; using Output = ...;
//   static constexpr int input_rank, output_rank; static constexpr const char* name;
//   const Output& forward(const Input& x)          result valid until the next forward
//   void backward(const Output& grad_y, Input* grad_x = nullptr, ParameterGradients mode)
//                                                  ADDS dL/dθ (unless mode is skip) and, when
//                                                  grad_x is given, ADDS dL/dx into it
//   const Output& output() const                   the last forward's result
//   for_each_parameter(visit), zero_grad()
// and optionally
//   set_training(bool) / is_training()             BatchNorm, Dropout and containers of them
//   set_execution(const Execution<Backend>&)       where its ops run (core/execution.hpp);
//                                                  required of every ccl::cuda layer
//   for_each_buffer(visit(name, buffer&))          non-trainable state (running statistics):
//                                                  RowMatrix<Scalar> on the CPU,
//                                                  gpu::DeviceMatrix<Scalar> for ccl::cuda layers
//   in_channels() / out_channels() / channels()    checked between neighbours of a Sequential
//
// Ranks are compile-time, so a Sequential can static_assert that neighbours fit; channel counts
// are runtime values, checked once when the container is built.

#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace ccl::nn {

namespace detail {

// Accepts any buffer type: host layers pass RowMatrix<Scalar>&, device layers DeviceMatrix&.
template <class Scalar>
struct BufferVisitorProbe {
  template <class Buffer>
  void operator()(const std::string&, Buffer&) const {}
};

template <class L, class = void>
struct has_set_training : std::false_type {};
template <class L>
struct has_set_training<L, std::void_t<decltype(std::declval<L&>().set_training(true))>>
    : std::true_type {};

template <class L, class = void>
struct has_buffers : std::false_type {};
template <class L>
struct has_buffers<L, std::void_t<decltype(std::declval<L&>().for_each_buffer(
                          BufferVisitorProbe<typename L::scalar_type>{}))>> : std::true_type {};

template <class L, class = void>
struct has_in_channels : std::false_type {};
template <class L>
struct has_in_channels<L, std::void_t<decltype(std::declval<const L&>().in_channels())>>
    : std::true_type {};

template <class L, class = void>
struct has_out_channels : std::false_type {};
template <class L>
struct has_out_channels<L, std::void_t<decltype(std::declval<const L&>().out_channels())>>
    : std::true_type {};

template <class L, class = void>
struct has_channels : std::false_type {};
template <class L>
struct has_channels<L, std::void_t<decltype(std::declval<const L&>().channels())>>
    : std::true_type {};

template <class L, class = void>
struct preserves_channels : std::false_type {};
template <class L>
struct preserves_channels<L, std::enable_if_t<L::preserves_channels>> : std::true_type {};

template <class L, class = void>
struct is_layer : std::false_type {};
template <class L>
struct is_layer<
    L, std::void_t<typename L::scalar_type, typename L::Input, typename L::Output,
                   decltype(L::input_rank), decltype(L::output_rank), decltype(L::name),
                   decltype(std::declval<L&>().forward(std::declval<const typename L::Input&>())),
                   decltype(std::declval<L&>().backward(std::declval<const typename L::Output&>(),
                                                        std::declval<typename L::Input*>(),
                                                        ParameterGradients{}))>> : std::true_type {
};

template <class T>
struct tensor_backend;
template <class Scalar, int Rank, class Backend>
struct tensor_backend<Tensor<Scalar, Rank, Backend>> {
  using type = Backend;
};

}  // namespace detail

template <class L>
inline constexpr bool is_layer_v = detail::is_layer<L>::value;

/// Where a layer computes (ccl::cpu or ccl::cuda): the backend of its input tensor type, so that
/// containers carry the backend of their elements through without a parameter of their own.
template <class L>
using layer_backend_t = typename detail::tensor_backend<typename L::Input>::type;

/// Switches BatchNorm/Dropout (and containers holding them) between training and inference;
/// a no-op for layers without such behaviour.
template <class L>
void set_training(L& layer, bool on) {
  if constexpr (detail::has_set_training<L>::value) layer.set_training(on);
}

/// Visits the buffers of layers that have some (running statistics); a no-op otherwise.
template <class L, class Visitor>
void for_each_buffer(L& layer, Visitor&& visit) {
  if constexpr (detail::has_buffers<L>::value) layer.for_each_buffer(visit);
}

/// The channel count a layer expects on its input, or -1 when it accepts any.
template <class L>
Index expected_channels(const L& layer) {
  if constexpr (detail::has_in_channels<L>::value) {
    return layer.in_channels();
  } else if constexpr (detail::has_channels<L>::value) {
    return layer.channels();
  } else {
    return -1;
  }
}

/// The channel count a layer produces: its own, the incoming one for layers that declare
/// `preserves_channels` (ReLU, Dropout, pooling; -1 propagates "unknown"), else -1 (Flatten).
template <class L>
Index produced_channels(const L& layer, Index incoming) {
  if constexpr (detail::has_out_channels<L>::value) {
    return layer.out_channels();
  } else if constexpr (detail::has_channels<L>::value) {
    return layer.channels();
  } else if constexpr (detail::preserves_channels<L>::value) {
    return incoming;
  } else {
    return -1;
  }
}

/// Prepends `prefix` to the name of every parameter of `layer` ("0." + "weight").
template <class L>
void prefix_parameter_names(L& layer, const std::string& prefix) {
  layer.for_each_parameter([&](auto& parameter) { parameter.name = prefix + parameter.name; });
}

}  // namespace ccl::nn
