#pragma once
// Residual<Main, Shortcut>: y = main(x) + shortcut(x), the skip connection of ResNet and R(2+1)D.
// The shortcut defaults to Identity; R(2+1)D's downsampling blocks use a strided conv + BN branch
// instead (method.md §3.1). The final ReLU of a residual block is not part of Residual: it is the
// next layer of the Sequential (ReLU(shortcut + residual)), which keeps this class one concept.
//
// Backward is the sum rule: both branches ADD their input gradient into grad_x, which is what the
// layers' accumulate convention gives for free. Parameters are named "main.*" and "shortcut.*".
//
// Residual and Identity are written once for every backend: the sum of the two branch outputs and
// Identity's copies are the tensor ops of nn/tensor_ops.hpp, whose device versions
// <ccl/cuda/nn/residual.hpp> brings.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/no_parameters.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace ccl::nn {

/// y = x: the shortcut of a residual block that keeps the shape. Written once for every backend
/// over nn/tensor_ops.hpp (ccl::cuda needs <ccl/cuda/nn/residual.hpp> or <ccl/cuda.hpp>).
template <class Scalar, int Rank, class Backend = cpu>
class Identity : public detail::NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::Identity<Scalar, Rank, Backend>: Backend must be ccl::cpu or ccl::cuda "
                "(for ccl::cuda include <ccl/cuda/nn/residual.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank, Backend>;
  using Output = Tensor<Scalar, Rank, Backend>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr bool preserves_channels = true;
  static constexpr const char* name = "Identity";

  const Output& forward(const Input& x) {
    if (&x != &output_) {
      output_.resize(x.shape());
      copy_elements(x, output_, this->execution_);
    }
    return output_;
  }
  const Output& output() const { return output_; }
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x != nullptr) {
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                output_.shape());
      accumulate_elements(grad_y, *grad_x, this->execution_);
    }
  }

 private:
  Output output_;
};

template <class Main, class Shortcut = Identity<typename Main::scalar_type, Main::input_rank,
                                                layer_backend_t<Main>>>
class Residual {
  static_assert(is_layer_v<Main> && is_layer_v<Shortcut>,
                "ccl::nn::Residual: both branches must be ccl::nn layers (see layer.hpp)");
  static_assert(std::is_same_v<typename Main::Input, typename Shortcut::Input> &&
                    std::is_same_v<typename Main::Output, typename Shortcut::Output>,
                "ccl::nn::Residual: the main branch and the shortcut must take and produce the "
                "same tensor types (scalar, rank and backend)");

 public:
  using scalar_type = typename Main::scalar_type;
  using backend_type = layer_backend_t<Main>;
  using Input = typename Main::Input;
  using Output = typename Main::Output;
  static constexpr int input_rank = Main::input_rank;
  static constexpr int output_rank = Main::output_rank;
  static constexpr const char* name = "Residual";

  explicit Residual(Main main, Shortcut shortcut = Shortcut())
      : main_(std::move(main)), shortcut_(std::move(shortcut)) {
    prefix_parameter_names(main_, "main.");
    prefix_parameter_names(shortcut_, "shortcut.");
  }

  Main& main() { return main_; }
  Shortcut& shortcut() { return shortcut_; }

  Index in_channels() const { return expected_channels(main_); }
  Index out_channels() const { return produced_channels(main_, in_channels()); }

  void set_training(bool on) {
    nn::set_training(main_, on);
    nn::set_training(shortcut_, on);
    training_ = on;
  }
  void train(bool on = true) { set_training(on); }
  void eval() { set_training(false); }
  bool is_training() const { return training_; }

  const Output& forward(const Input& x) {
    const Output& a = main_.forward(x);
    const Output& b = shortcut_.forward(x);
    require(a.shape() == b.shape(), name, ": the main branch produces shape ", a.shape_string(),
            " but the shortcut produces ", b.shape_string(), " for input ", x.shape_string(),
            " (a block that changes channels or strides needs a projection shortcut)");
    add_elements(a, b, output_, execution_);
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    main_.backward(grad_y, grad_x, mode);
    shortcut_.backward(grad_y, grad_x, mode);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    main_.for_each_parameter(visit);
    shortcut_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    main_.for_each_parameter(visit);
    shortcut_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    nn::for_each_buffer(
        main_, [&](const std::string& buffer, auto& value) { visit("main." + buffer, value); });
    nn::for_each_buffer(shortcut_, [&](const std::string& buffer, auto& value) {
      visit("shortcut." + buffer, value);
    });
  }

  void zero_grad() {
    main_.zero_grad();
    shortcut_.zero_grad();
  }

  /// Both branches and the join run with `execution` (core/execution.hpp).
  void set_execution(const Execution<backend_type>& execution) {
    set_executions(execution, main_, shortcut_);
    rebind_execution(execution_, execution);
  }

 private:
  Main main_;
  Shortcut shortcut_;
  Execution<backend_type> execution_;
  Output output_;
  bool training_ = true;
};

/// Deduces Residual<Main, Shortcut> (or Residual<Main> with an identity shortcut).
template <class Main, class... Shortcut>
auto residual(Main main, Shortcut... shortcut) {
  static_assert(sizeof...(Shortcut) <= 1,
                "ccl::nn::residual: give a main branch and at most one "
                "shortcut");
  return Residual<Main, Shortcut...>(std::move(main), std::move(shortcut)...);
}

}  // namespace ccl::nn
