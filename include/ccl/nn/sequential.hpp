#pragma once
// Sequential<Layers...>: layers applied in order, held in a boost::hana::tuple (flat, so the
// instantiation depth stays low however long the network is, unlike dlib's nested types).
//
//   auto net = nn::sequential(nn::Conv2d<float>(nn::ConvOptions<2>(3, 16, 3).padding(1), rng),
//                             nn::BatchNorm2d<float>(16), nn::ReLU<float, 4>{},
//                             nn::GlobalAvgPool<float, 2>{}, nn::Linear<float>(16, 10, rng));
//
// Checked when the type is formed: every element is a layer (layer.hpp), all share one scalar
// type, and each layer's output rank is the next one's input rank (a Conv3d after a Conv2d, or a
// Linear on a feature map without Flatten/GlobalAvgPool, does not compile). Checked when the
// object is built: neighbouring channel counts agree (Conv(out = 64) then BatchNorm(32) throws a
// ccl::error naming both layers). Parameters are renamed "0.weight", "1.running_mean", ... like
// PyTorch's nn.Sequential, so state dicts map one to one; a nested container adds its own prefix.
//
// A Sequential is itself a layer: it nests, and Residual takes it as a branch. Nothing in it is
// backend-specific (tensor resize/set_zero and the layers' own calls), so a Sequential of ccl::cuda
// layers (<ccl/cuda/nn/...>) runs on the device unchanged; mixing backends does not compile.

#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_linear.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ccl::nn {

namespace detail {

/// What a Sequential stores for an argument: Linear becomes TensorLinear, a layer stays itself.
template <class L>
struct as_layer {
  using type = L;
};
template <class Scalar, class Backend>
struct as_layer<Linear<Scalar, Backend>> {
  using type = TensorLinear<Scalar, Backend>;  // the device adapter is in <ccl/cuda/nn/linear.hpp>
};
template <class L>
using as_layer_t = typename as_layer<std::decay_t<L>>::type;

/// Instantiated once per pair of neighbours: when the ranks differ, the compiler's "required
/// from" note shows the position and both ranks as this template's arguments.
template <std::size_t Position, int OutputRank, int NextInputRank>
struct SequentialRankLink {
  static_assert(OutputRank == NextInputRank,
                "ccl::nn::Sequential: layer <Position> produces a tensor of rank <OutputRank> but "
                "the next layer takes rank <NextInputRank> (see this template's arguments). "
                "Feature maps are [N, C, L] (3), [N, C, H, W] (4), [N, C, T, H, W] (5); a Linear "
                "takes [N, D] (2): put Flatten or GlobalAvgPool in between");
  static constexpr bool value = true;
};

template <class... Layers, std::size_t... I>
constexpr bool ranks_chain(std::index_sequence<I...>) {
  constexpr int inputs[] = {Layers::input_rank...};
  constexpr int outputs[] = {Layers::output_rank...};
  return (SequentialRankLink<I, outputs[I], inputs[I + 1]>::value && ... && true);
}

template <class First, class... Rest>
struct first_of {
  using type = First;
};

}  // namespace detail

template <class... Layers>
class Sequential {
  static_assert(sizeof...(Layers) > 0, "ccl::nn::Sequential: give at least one layer");
  static_assert((is_layer_v<Layers> && ...),
                "ccl::nn::Sequential: every element must be a ccl::nn layer (see layer.hpp: "
                "Input/Output types, forward(x), backward(grad_y, grad_x, mode)); build with "
                "nn::sequential(...), which wraps a Linear in a TensorLinear");
  using FirstLayer = typename detail::first_of<Layers...>::type;

 public:
  using scalar_type = typename FirstLayer::scalar_type;
  static_assert((std::is_same_v<typename Layers::scalar_type, scalar_type> && ...),
                "ccl::nn::Sequential: all layers must share one scalar type (float or double)");
  /// ccl::cpu or ccl::cuda: a Sequential of device layers is a device layer.
  using backend_type = layer_backend_t<FirstLayer>;
  static_assert((std::is_same_v<layer_backend_t<Layers>, backend_type> && ...),
                "ccl::nn::Sequential: all layers must share one backend (ccl::cpu or ccl::cuda); "
                "copy tensors between them explicitly with ccl::gpu::to_device / to_host");
  static constexpr std::size_t size = sizeof...(Layers);
  static_assert(detail::ranks_chain<Layers...>(std::make_index_sequence<size - 1>{}),
                "ccl::nn::Sequential: neighbouring layers' ranks differ");

  using Input = typename FirstLayer::Input;
  using Output = typename std::tuple_element_t<size - 1, std::tuple<Layers...>>::Output;
  static constexpr int input_rank = FirstLayer::input_rank;
  static constexpr int output_rank = Output::rank;
  static constexpr const char* name = "Sequential";

  explicit Sequential(Layers... layers) : layers_(std::move(layers)...) {
    check_channels();
    for_each_layer(
        [](auto& layer, std::size_t i) { prefix_parameter_names(layer, std::to_string(i) + "."); });
  }

  /// Layer I (a TensorLinear where a Linear was given).
  template <std::size_t I>
  auto& get() {
    static_assert(I < size, "ccl::nn::Sequential::get: index out of range");
    return layers_[boost::hana::size_c<I>];
  }
  template <std::size_t I>
  const auto& get() const {
    static_assert(I < size, "ccl::nn::Sequential::get: index out of range");
    return layers_[boost::hana::size_c<I>];
  }

  /// The input channels of the first layer that declares them (-1 when none does).
  Index in_channels() const {
    Index found = -1;
    for_each_layer([&](const auto& layer, std::size_t) {
      if (found < 0) found = expected_channels(layer);
    });
    return found;
  }
  /// The channels (or features) of the output when the layers determine them, else -1.
  Index out_channels() const {
    Index channels = -1;
    for_each_layer(
        [&](const auto& layer, std::size_t) { channels = produced_channels(layer, channels); });
    return channels;
  }

  void set_training(bool on) {
    training_ = on;
    for_each_layer([on](auto& layer, std::size_t) { nn::set_training(layer, on); });
  }
  void train(bool on = true) { set_training(on); }
  void eval() { set_training(false); }
  bool is_training() const { return training_; }

  const Output& forward(const Input& x) { return forward_from<0>(x); }

  const Output& output() const { return get<size - 1>().output(); }

  /// Back-propagates through the layers in reverse; intermediate gradients live in member
  /// buffers. With grad_x null the first layer skips its input gradient (a Conv on raw data saves
  /// its col2im pass).
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    backward_from<size - 1>(grad_y, grad_x, mode);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    for_each_layer([&](auto& layer, std::size_t) { layer.for_each_parameter(visit); });
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    for_each_layer([&](const auto& layer, std::size_t) { layer.for_each_parameter(visit); });
  }

  /// Visits every layer's buffers as visit("3.running_mean", matrix) (a RowMatrix on the CPU, a
  /// gpu::DeviceMatrix on the device).
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    for_each_layer([&](auto& layer, std::size_t i) {
      nn::for_each_buffer(layer, [&](const std::string& buffer, auto& value) {
        visit(std::to_string(i) + "." + buffer, value);
      });
    });
  }

  void zero_grad() {
    for_each_layer([](auto& layer, std::size_t) { layer.zero_grad(); });
  }

  /// Every layer, and the zeroing of the gradients between them, runs with `execution`
  /// (core/execution.hpp).
  void set_execution(const Execution<backend_type>& execution) {
    for_each_layer([&](auto& layer, std::size_t) { ccl::set_execution(layer, execution); });
    rebind_execution(execution_, execution);
  }

 private:
  template <class F>
  void for_each_layer(F&& f) {
    for_each_index(std::make_index_sequence<size>{}, f);
  }
  template <class F>
  void for_each_layer(F&& f) const {
    for_each_index(std::make_index_sequence<size>{}, f);
  }
  template <std::size_t... I, class F>
  void for_each_index(std::index_sequence<I...>, F& f) {
    (f(layers_[boost::hana::size_c<I>], I), ...);
  }
  template <std::size_t... I, class F>
  void for_each_index(std::index_sequence<I...>, F& f) const {
    (f(layers_[boost::hana::size_c<I>], I), ...);
  }

  void check_channels() const {
    Index incoming = -1;
    const char* previous = "";
    std::size_t previous_index = 0;
    for_each_layer([&](const auto& layer, std::size_t i) {
      using L = std::decay_t<decltype(layer)>;
      const Index expected = expected_channels(layer);
      require(i == 0 || incoming < 0 || expected < 0 || incoming == expected, "Sequential: layer ",
              i, " (", L::name, ") expects ", expected, " input channels but layer ",
              previous_index, " (", previous, ") produces ", incoming);
      incoming = produced_channels(layer, incoming);
      previous = L::name;
      previous_index = i;
    });
  }

  template <std::size_t I, class X>
  const Output& forward_from(const X& x) {
    const auto& y = layers_[boost::hana::size_c<I>].forward(x);
    if constexpr (I + 1 == size) {
      return y;
    } else {
      return forward_from<I + 1>(y);
    }
  }

  template <std::size_t I, class G>
  void backward_from(const G& grad, Input* grad_x, ParameterGradients mode) {
    auto& layer = layers_[boost::hana::size_c<I>];
    if constexpr (I == 0) {
      layer.backward(grad, grad_x, mode);
    } else {
      auto& buffer = grads_[boost::hana::size_c<I>];
      buffer.resize(layers_[boost::hana::size_c<I - 1>].output().shape());
      zero_elements(buffer, execution_);
      layer.backward(grad, &buffer, mode);
      backward_from<I - 1>(buffer, grad_x, mode);
    }
  }

  boost::hana::tuple<Layers...> layers_;
  Execution<backend_type> execution_;
  boost::hana::tuple<typename Layers::Input...> grads_;  // dL/d(input of layer I), I >= 1
  bool training_ = true;
};

/// Builds a Sequential from layers (moved or copied in); a Linear is wrapped in a TensorLinear.
template <class... Layers>
Sequential<detail::as_layer_t<Layers>...> sequential(Layers&&... layers) {
  return Sequential<detail::as_layer_t<Layers>...>(
      detail::as_layer_t<Layers>(std::forward<Layers>(layers))...);
}

}  // namespace ccl::nn
