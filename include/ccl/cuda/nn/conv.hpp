#pragma once
// ConvNd<Scalar, Rank, ccl::cuda>: the device counterpart of nn::ConvNd (ccl/nn/conv.hpp), on
// cuDNN: cudnnConvolutionForward, ...BackwardData and ...BackwardFilter (+ cudnnAddTensor and
// cudnnConvolutionBackwardBias for the bias). Same options, checks, messages, parameter names and
// calling convention: forward keeps a device copy of x and returns a member tensor; backward ADDS
// into the parameters' gradients (unless ParameterGradients::skip) and into grad_x.
//
//   weight  Parameter<Scalar, ccl::cuda> [Cout, Cin * prod(kernel)] = PyTorch's [Cout, Cin, k...]
//           in C order, which is cuDNN's NCHW filter layout: gpu::copy_from_host of the CPU layer's
//           parameters gives the same layer.
//   init    reset_parameters(rng) draws on the host with the CPU layer's rules and uploads, so a
//           seed gives the CPU layer's weights.
//
// Algorithms come from cuDNN's heuristics (cudnnGet*Algorithm_v7) once per input shape and
// direction: the first that fits the workspace limit with strict FP32 math (TF32 only when
// gpu::settings().allow_tf32) and, by default, deterministic results (set_deterministic(false)
// allows cuDNN's atomics-based backward algorithms). The workspace is the thread's shared one
// (gpu::cudnn_context()). Conv1d runs as a 2D convolution of height 1 (detail/conv_plan.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/cudnn.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/nn/detail/conv_plan.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients

#include <cstddef>
#include <vector>

namespace ccl::nn {

template <class Scalar, int Rank>
class ConvNd<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::ConvNd: Rank is the number of spatial axes: 1, 2 or 3");

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank + 2, cuda>;
  using Output = Tensor<Scalar, Rank + 2, cuda>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = Rank + 2;
  static constexpr const char* name = ConvNd<Scalar, Rank, cpu>::name;

  /// Zero parameters; initialise with reset_parameters() or gpu::copy_from_host.
  explicit ConvNd(const ConvOptions<Rank>& options) : options_(options) {
    detail::check_conv_options(name, options);
    weight_ = Parameter<Scalar, cuda>("weight", options.out_channels(), fan_in());
    if (options.bias()) bias_ = Parameter<Scalar, cuda>("bias", 1, options.out_channels(),
                                      ParameterRole::bias);
  }

  /// PyTorch's default initialisation drawn on the host exactly as the CPU layer draws it.
  ConvNd(const ConvOptions<Rank>& options, Rng& rng) : ConvNd(options) { reset_parameters(rng); }

  void reset_parameters(Rng& rng) {
    RowMatrix<Scalar> weight(out_channels(), fan_in());
    RowMatrix<Scalar> bias(has_bias() ? 1 : 0, has_bias() ? out_channels() : 0);
    init::pytorch_default(weight, bias, fan_in(), rng);
    gpu::copy<Scalar>(ccl::view(weight), weight_.value.mutable_view());
    if (has_bias()) gpu::copy<Scalar>(ccl::view(bias), bias_.value.mutable_view());
  }

  const ConvOptions<Rank>& options() const { return options_; }
  Index in_channels() const { return options_.in_channels(); }
  Index out_channels() const { return options_.out_channels(); }
  Index fan_in() const { return options_.in_channels() * shape_size(options_.kernel()); }
  bool has_bias() const { return options_.bias(); }

  Parameter<Scalar, cuda>& weight() { return weight_; }
  const Parameter<Scalar, cuda>& weight() const { return weight_; }
  Parameter<Scalar, cuda>& bias() { return bias_; }
  const Parameter<Scalar, cuda>& bias() const { return bias_; }

  Shape<Rank> output_spatial(const Shape<Rank>& in) const {
    Shape<Rank + 2> full{};
    full[0] = 1;
    full[1] = in_channels();
    for (int i = 0; i < Rank; ++i) full[std::size_t(i + 2)] = in[std::size_t(i)];
    const auto out = output_shape(full);
    Shape<Rank> spatial{};
    for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = out[std::size_t(i + 2)];
    return spatial;
  }
  Shape<Rank + 2> output_shape(const Shape<Rank + 2>& in) const {
    return detail::conv_output_shape(name, options_, in);
  }

  /// Whether forward scans x for NaN/Inf (on by default, like the CPU layer; one kernel and a
  /// stream synchronisation per call, so turn it off in tuned training loops).
  void set_check_finite(bool on) { check_finite_ = on; }

  /// Caps the cuDNN workspace at about `elements` scalars (default 2^26: 256 MiB in float).
  void set_workspace_limit(Index elements) {
    require(elements > 0, name, "::set_workspace_limit: the limit must be positive, got ",
            elements);
    workspace_limit_ = elements;
    planned_ = {};
  }

  /// Whether only deterministic cuDNN algorithms are chosen when one fits (default true).
  void set_deterministic(bool on) {
    deterministic_ = on;
    planned_ = {};
  }

  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    tensor_checks::channels(name, "input", x, in_channels());
    const cudaStream_t stream = gpu::settings().stream;
    if (check_finite_) tensor_checks::finite(name, "input", x, finite_scratch_, stream);
    const Shape<Rank + 2> out_shape = output_shape(x.shape());
    // The copy first: x may be this layer's own output, which the resize below can reallocate.
    gpu::copy(x, input_, stream);
    output_.resize(out_shape);
    plan(input_.shape(), out_shape);
    if (!forward_.ready) plan_forward();
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    void* workspace = gpu::cudnn_context().workspace(forward_.bytes, stream);
    conv_.set_math(forward_.math);
    CCL_CUDA_CHECK(cudnnConvolutionForward(
        handle, &f.one, x_desc_.get(), input_.data(), w_desc_.get(), weight_.value.data(),
        conv_.get(), cudnnConvolutionFwdAlgo_t(forward_.algo), workspace, forward_.bytes, &f.zero,
        y_desc_.get(), output_.data()));
    if (has_bias()) {
      CCL_CUDA_CHECK(cudnnAddTensor(handle, &f.one, bias_desc_.get(), bias_.value.data(), &f.one,
                                    y_desc_.get(), output_.data()));
    }
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(!input_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x != nullptr)
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                input_.shape());
    const bool params = mode == ParameterGradients::accumulate;
    if (!params && grad_x == nullptr) return;
    const cudaStream_t stream = gpu::settings().stream;
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    if (params) {
      if (!filter_.ready) plan_filter();
      if (has_bias()) {
        CCL_CUDA_CHECK(cudnnConvolutionBackwardBias(handle, &f.one, y_desc_.get(), grad_y.data(),
                                                    &f.one, bias_desc_.get(),
                                                    bias_.grad.data()));
      }
      void* workspace = gpu::cudnn_context().workspace(filter_.bytes, stream);
      conv_.set_math(filter_.math);
      CCL_CUDA_CHECK(cudnnConvolutionBackwardFilter(
          handle, &f.one, x_desc_.get(), input_.data(), y_desc_.get(), grad_y.data(), conv_.get(),
          cudnnConvolutionBwdFilterAlgo_t(filter_.algo), workspace, filter_.bytes, &f.one,
          w_desc_.get(), weight_.grad.data()));
    }
    if (grad_x != nullptr) {
      if (!data_.ready) plan_data();
      void* workspace = gpu::cudnn_context().workspace(data_.bytes, stream);
      conv_.set_math(data_.math);
      CCL_CUDA_CHECK(cudnnConvolutionBackwardData(
          handle, &f.one, w_desc_.get(), weight_.value.data(), y_desc_.get(), grad_y.data(),
          conv_.get(), cudnnConvolutionBwdDataAlgo_t(data_.algo), workspace, data_.bytes, &f.one,
          x_desc_.get(), grad_x->data()));
    }
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
    weight_.zero_grad();
    bias_.zero_grad();
  }

 private:
  struct Algorithm {
    bool ready = false;
    int algo = 0;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    std::size_t bytes = 0;
  };

  // (Re)builds the descriptors when the input shape or the TF32 setting changed; the algorithms
  // are then chosen lazily per direction (an eval-only network never plans its backward).
  void plan(const Shape<Rank + 2>& in, const Shape<Rank + 2>& out) {
    const bool tf32 = gpu::settings().allow_tf32;
    if (in == planned_ && tf32 == planned_tf32_) return;
    const auto d = gpu::detail::conv_dims(name, options_, in, out);
    constexpr cudnnDataType_t type = gpu::cudnn_data_type<Scalar>();
    x_desc_.set(type, d.x);
    y_desc_.set(type, d.y);
    bias_desc_.set(type, d.bias);
    w_desc_.set(type, d.w);
    conv_.set(d.padding, d.stride, d.dilation, type);
    forward_ = data_ = filter_ = Algorithm{};
    planned_ = in;
    planned_tf32_ = tf32;
  }

  std::size_t workspace_bytes() const { return std::size_t(workspace_limit_) * sizeof(Scalar); }
  cudnnMathType_t wanted_math() const {
    return gpu::detail::conv_math_type<Scalar>(planned_tf32_);
  }

  template <class Perf>
  Algorithm chosen(const std::vector<Perf>& perfs, int returned, const char* direction) {
    const auto best = gpu::detail::choose_algorithm(perfs.data(), returned, workspace_bytes(),
                                                    wanted_math(), deterministic_);
    require(best.has_value(), name, ": cuDNN has no ", direction, " algorithm for input ",
            shape_string(planned_), " within the workspace limit of ", workspace_bytes(),
            " bytes (set_workspace_limit)");
    Algorithm a;
    a.ready = true;
    a.algo = int(best->algo);
    a.math = best->mathType;
    conv_.set_math(a.math);
    return a;
  }

  void plan_forward() {
    cudnnHandle_t handle = gpu::cudnn_context().handle(gpu::settings().stream);
    int count = 0, returned = 0;
    CCL_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(std::size_t(count > 0 ? count : 1));
    conv_.set_math(wanted_math());
    CCL_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, x_desc_.get(), w_desc_.get(),
                                                          conv_.get(), y_desc_.get(), count,
                                                          &returned, perfs.data()));
    forward_ = chosen(perfs, returned, "forward");
    CCL_CUDA_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        handle, x_desc_.get(), w_desc_.get(), conv_.get(), y_desc_.get(),
        cudnnConvolutionFwdAlgo_t(forward_.algo), &forward_.bytes));
  }

  void plan_data() {
    cudnnHandle_t handle = gpu::cudnn_context().handle(gpu::settings().stream);
    int count = 0, returned = 0;
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(std::size_t(count > 0 ? count : 1));
    conv_.set_math(wanted_math());
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        handle, w_desc_.get(), y_desc_.get(), conv_.get(), x_desc_.get(), count, &returned,
        perfs.data()));
    data_ = chosen(perfs, returned, "backward-data");
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        handle, w_desc_.get(), y_desc_.get(), conv_.get(), x_desc_.get(),
        cudnnConvolutionBwdDataAlgo_t(data_.algo), &data_.bytes));
  }

  void plan_filter() {
    cudnnHandle_t handle = gpu::cudnn_context().handle(gpu::settings().stream);
    int count = 0, returned = 0;
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(std::size_t(count > 0 ? count : 1));
    conv_.set_math(wanted_math());
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        handle, x_desc_.get(), y_desc_.get(), conv_.get(), w_desc_.get(), count, &returned,
        perfs.data()));
    filter_ = chosen(perfs, returned, "backward-filter");
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        handle, x_desc_.get(), y_desc_.get(), conv_.get(), w_desc_.get(),
        cudnnConvolutionBwdFilterAlgo_t(filter_.algo), &filter_.bytes));
  }

  ConvOptions<Rank> options_;
  Parameter<Scalar, cuda> weight_;
  Parameter<Scalar, cuda> bias_{"bias", 0, 0, ParameterRole::bias};
  Input input_;    // device copy of the last forward's x, for dL/dW
  Output output_;  // workspace returned by forward
  gpu::TensorDescriptor x_desc_, y_desc_, bias_desc_;
  gpu::FilterDescriptor w_desc_;
  gpu::ConvolutionDescriptor conv_;
  Shape<Rank + 2> planned_{};  // the input shape the descriptors describe (all 0: none yet)
  bool planned_tf32_ = false;
  Algorithm forward_, data_, filter_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
  Index workspace_limit_ = Index(1) << 26;
  bool check_finite_ = true;
  bool deterministic_ = true;
};

}  // namespace ccl::nn
