#pragma once
// ConvNd<Scalar, Rank>: PyTorch's nn.Conv1d / Conv2d / Conv3d (groups = 1) on [N, C, spatial...],
// computed as im2col (detail/im2col.hpp) followed by a GEMM per sample.
//
//   weight  [Cout, Cin * prod(kernel)]  = PyTorch's [Cout, Cin, k...] flattened row-major
//   bias    [1, Cout]                   (optional)
//
// The calling convention is Linear's (linear.hpp): forward returns a reference to a member
// workspace and keeps a copy of x; backward ADDS into the parameters' gradients and, when asked,
// into grad_x.
//
// The layer is written once for both backends; its arithmetic is detail::ConvEngine: the host
// one in nn/detail/conv_engine.hpp (threads, workspace limit, determinism are described there),
// cuDNN in <ccl/cuda/nn/conv.hpp>. The options are in nn/conv_options.hpp.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/conv_options.hpp>
#include <ccl/nn/detail/conv_engine.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cstddef>

namespace ccl::nn {

// Written once for both backends: options, parameters and their initialisation, shapes, checks
// and the calling convention here; the arithmetic in detail::ConvEngine<..., Backend> (im2col and
// ccl's GEMM on the CPU, cuDNN on ccl::cuda).
template <class Scalar, int Rank, class Backend = cpu>
class ConvNd {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::ConvNd: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda include "
                "<ccl/cuda/nn/conv.hpp> or <ccl/cuda.hpp>)");
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::ConvNd: Rank is the number of spatial axes: "
                "1 (Conv1d, [N, C, L]), 2 (Conv2d, [N, C, H, W]) or 3 "
                "(Conv3d, [N, C, T, H, W])");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank + 2, Backend>;
  using Output = Tensor<Scalar, Rank + 2, Backend>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = Rank + 2;
  static constexpr const char* name = detail::conv_name<Rank>();

  /// Zero parameters; initialise with reset_parameters(), by writing weight().value, or (device)
  /// with gpu::copy_from_host.
  explicit ConvNd(const ConvOptions<Rank>& options) : options_(options), engine_(options) {
    detail::check_conv_options(name, options);
    weight_ = Parameter<Scalar, Backend>("weight", options.out_channels(), fan_in());
    if (options.bias())
      bias_ = Parameter<Scalar, Backend>("bias", 1, options.out_channels(), ParameterRole::bias);
  }

  /// PyTorch's default initialisation (init.hpp), weight first, then bias.
  ConvNd(const ConvOptions<Rank>& options, Rng& rng) : ConvNd(options) { reset_parameters(rng); }

  /// Draws on the host with PyTorch's rules (a device layer uploads the draw, so a seed gives the
  /// same weights on both backends).
  void reset_parameters(Rng& rng) {
    RowMatrix<Scalar> weight(out_channels(), fan_in());
    RowMatrix<Scalar> bias(has_bias() ? 1 : 0, has_bias() ? out_channels() : 0);
    init::pytorch_default(weight, bias, fan_in(), rng);
    assign(weight_.value, ccl::view(weight), execution_);
    if (has_bias()) assign(bias_.value, ccl::view(bias), execution_);
  }

  const ConvOptions<Rank>& options() const { return options_; }
  Index in_channels() const { return options_.in_channels(); }
  Index out_channels() const { return options_.out_channels(); }
  Index fan_in() const { return options_.in_channels() * shape_size(options_.kernel()); }
  bool has_bias() const { return options_.bias(); }

  Parameter<Scalar, Backend>& weight() { return weight_; }
  const Parameter<Scalar, Backend>& weight() const { return weight_; }
  /// The bias parameter ([1, Cout]; [0, 0] when the layer has none).
  Parameter<Scalar, Backend>& bias() { return bias_; }
  const Parameter<Scalar, Backend>& bias() const { return bias_; }

  /// The spatial extents of the output for an input of spatial extents `in` (PyTorch's floor
  /// formula); throws when the dilated kernel is larger than the padded input.
  Shape<Rank> output_spatial(const Shape<Rank>& in) const {
    const auto g =
        detail::make_window_geometry(name, in_channels(), in, options_.kernel(), options_.stride(),
                                     options_.padding(), options_.dilation());
    Shape<Rank> out{};
    for (int i = 0; i < Rank; ++i) out[std::size_t(i)] = g.out[std::size_t(3 - Rank + i)];
    return out;
  }

  /// The full output shape for an input shape [N, Cin, spatial...].
  Shape<Rank + 2> output_shape(const Shape<Rank + 2>& in) const {
    return detail::conv_output_shape(name, options_, in);
  }

  /// Whether forward scans x for NaN/Inf (on by default: one pass on the CPU, cheap next to the
  /// GEMM; one kernel and a stream synchronisation on the device, so turn it off in tuned device
  /// training loops).
  void set_check_finite(bool on) { check_finite_ = on; }

  /// Caps the workspace at about `elements` scalars. CPU: the im2col buffers (default 2^24,
  /// 64 MiB in float): samples (or a sample's output time steps) are processed in blocks that
  /// fit, but always at least one sample (batched path) or one time step (a thread's sample) at
  /// a time. CUDA: cuDNN's workspace (default 2^26, 256 MiB in float), which bounds the
  /// algorithms chosen.
  void set_workspace_limit(Index elements) {
    require(elements > 0, name, "::set_workspace_limit: the limit must be positive, got ",
            elements);
    engine_.set_workspace_limit(elements);
  }

  /// Device: whether only deterministic cuDNN algorithms are chosen when one fits (default true).
  /// The CPU convolution is always deterministic.
  void set_deterministic(bool on) { engine_.set_deterministic(on); }

  /// y = conv(x, W) + b for x of shape [N, Cin, spatial...]. The result lives in the layer and is
  /// overwritten by the next forward; x may be this layer's own output (the engine copies it
  /// first).
  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    tensor_checks::channels(name, "input", x, in_channels());
    engine_.forward(x, weight_, bias_, check_finite_, output_);
    return output_;
  }

  /// The output of the last forward.
  const Output& output() const { return output_; }

  /// Back-propagates grad_y = dL/dy (the shape of the last forward's output):
  ///   grad W += dY colsᵀ,  grad b += Σ dY,  grad_x += col2im(Wᵀ dY)  (if grad_x is given; it
  /// must have the input's shape).
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(engine_.has_input(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x != nullptr)
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                engine_.input_shape());
    const bool params = mode == ParameterGradients::accumulate;
    if (!params && grad_x == nullptr) return;
    engine_.backward(grad_y, grad_x, params, weight_, bias_);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }

  void zero_grad() {
    weight_.zero_grad(execution_);
    bias_.zero_grad(execution_);
  }

  /// The engine's kernels, uploads and gradient zeroing run with `execution`
  /// (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(engine_, execution);
    rebind_execution(execution_, execution);
  }

 private:
  ConvOptions<Rank> options_;
  Execution<Backend> execution_;
  Parameter<Scalar, Backend> weight_;
  Parameter<Scalar, Backend> bias_{"bias", 0, 0, ParameterRole::bias};
  Output output_;  // workspace returned by forward
  detail::ConvEngine<Scalar, Rank, Backend> engine_;
  bool check_finite_ = true;
};

template <class Scalar, class Backend = cpu>
using Conv1d = ConvNd<Scalar, 1, Backend>;
template <class Scalar, class Backend = cpu>
using Conv2d = ConvNd<Scalar, 2, Backend>;
template <class Scalar, class Backend = cpu>
using Conv3d = ConvNd<Scalar, 3, Backend>;

}  // namespace ccl::nn
