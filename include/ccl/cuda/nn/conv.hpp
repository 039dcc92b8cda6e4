#pragma once
// ConvNd<Scalar, Rank, ccl::cuda>: nn::ConvNd (ccl/nn/conv.hpp, written once for both backends:
// options, checks, messages, parameter names, calling convention) on the device. This header is
// its engine, detail::ConvEngine<Scalar, Rank, ccl::cuda>, on cuDNN: cudnnConvolutionForward,
// ...BackwardData and ...BackwardFilter (+ cudnnAddTensor and cudnnConvolutionBackwardBias for the
// bias). forward keeps a device copy of x; backward ADDS into the parameters' gradients (unless
// ParameterGradients::skip) and into grad_x.
//
//   weight  Parameter<Scalar, ccl::cuda> [Cout, Cin * prod(kernel)] = PyTorch's [Cout, Cin, k...]
//           in C order, which is cuDNN's NCHW filter layout: gpu::copy_from_host of the CPU layer's
//           parameters gives the same layer.
//   init    reset_parameters(rng) draws on the host with the CPU layer's rules and uploads, so a
//           seed gives the CPU layer's weights.
//
// Algorithms come from cuDNN's heuristics (cudnnGet*Algorithm_v7) once per input shape and
// direction: the first that fits the workspace limit with strict FP32 math (TF32 only when
// Execution<cuda>::allow_tf32) and, by default, deterministic results (set_deterministic(false)
// allows cuDNN's atomics-based backward algorithms). The workspace is the thread's shared one
// (gpu::cudnn_context()). Conv1d runs as a 2D convolution of height 1 (detail/conv_plan.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/cudnn.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/nn/detail/conv_plan.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients

#include <cstddef>
#include <vector>

namespace ccl::nn::detail {

template <class Scalar, int Rank>
class ConvEngine<Scalar, Rank, cuda> {
  using Input = Tensor<Scalar, Rank + 2, cuda>;
  using Output = Tensor<Scalar, Rank + 2, cuda>;
  static constexpr const char* name = conv_name<Rank>();

 public:
  explicit ConvEngine(const ConvOptions<Rank>& options) : options_(options) {}

  /// cuDNN's workspace cap, in scalars (ConvNd::set_workspace_limit).
  /// The stream, and TF32 for the algorithms planned from now on.
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  void set_workspace_limit(Index elements) {
    workspace_limit_ = elements;
    planned_ = {};
  }
  /// Whether only deterministic cuDNN algorithms are chosen when one fits.
  void set_deterministic(bool on) {
    deterministic_ = on;
    planned_ = {};
  }

  bool has_input() const { return !input_.empty(); }
  const Shape<Rank + 2>& input_shape() const { return input_.shape(); }

  void forward(const Input& x, Parameter<Scalar, cuda>& layer_weight,
               Parameter<Scalar, cuda>& layer_bias, bool check_finite, Output& output) {
    weight_ = &layer_weight;
    bias_ = &layer_bias;
    output_ = &output;
    const cudaStream_t stream = execution_.stream;
    if (check_finite) tensor_checks::finite(name, "input", x, finite_scratch_, stream);
    const Shape<Rank + 2> out_shape = conv_output_shape(name, options_, x.shape());
    // The copy first: x may be this layer's own output, which the resize below can reallocate.
    gpu::copy(x, input_, stream);
    output_->resize(out_shape);
    plan(input_.shape(), out_shape);
    if (!forward_.ready) plan_forward();
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    void* workspace = gpu::cudnn_context().workspace(forward_.bytes, stream);
    conv_.set_math(forward_.math);
    CCL_CUDA_CHECK(cudnnConvolutionForward(
        handle, &f.one, x_desc_.get(), input_.data(), w_desc_.get(), weight_->value.data(),
        conv_.get(), cudnnConvolutionFwdAlgo_t(forward_.algo), workspace, forward_.bytes, &f.zero,
        y_desc_.get(), output_->data()));
    if (options_.bias()) {
      CCL_CUDA_CHECK(cudnnAddTensor(handle, &f.one, bias_desc_.get(), bias_->value.data(), &f.one,
                                    y_desc_.get(), output_->data()));
    }
  }

  void backward(const Output& grad_y, Input* grad_x, bool params,
                Parameter<Scalar, cuda>& layer_weight, Parameter<Scalar, cuda>& layer_bias) {
    weight_ = &layer_weight;
    bias_ = &layer_bias;
    const cudaStream_t stream = execution_.stream;
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    if (params) {
      if (!filter_.ready) plan_filter();
      if (options_.bias()) {
        CCL_CUDA_CHECK(cudnnConvolutionBackwardBias(handle, &f.one, y_desc_.get(), grad_y.data(),
                                                    &f.one, bias_desc_.get(), bias_->grad.data()));
      }
      void* workspace = gpu::cudnn_context().workspace(filter_.bytes, stream);
      conv_.set_math(filter_.math);
      CCL_CUDA_CHECK(cudnnConvolutionBackwardFilter(
          handle, &f.one, x_desc_.get(), input_.data(), y_desc_.get(), grad_y.data(), conv_.get(),
          cudnnConvolutionBwdFilterAlgo_t(filter_.algo), workspace, filter_.bytes, &f.one,
          w_desc_.get(), weight_->grad.data()));
    }
    if (grad_x != nullptr) {
      if (!data_.ready) plan_data();
      void* workspace = gpu::cudnn_context().workspace(data_.bytes, stream);
      conv_.set_math(data_.math);
      CCL_CUDA_CHECK(cudnnConvolutionBackwardData(
          handle, &f.one, w_desc_.get(), weight_->value.data(), y_desc_.get(), grad_y.data(),
          conv_.get(), cudnnConvolutionBwdDataAlgo_t(data_.algo), workspace, data_.bytes, &f.one,
          x_desc_.get(), grad_x->data()));
    }
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
    const bool tf32 = execution_.allow_tf32;
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
  cudnnMathType_t wanted_math() const { return gpu::detail::conv_math_type<Scalar>(planned_tf32_); }

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
    cudnnHandle_t handle = gpu::cudnn_context().handle(execution_.stream);
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
    cudnnHandle_t handle = gpu::cudnn_context().handle(execution_.stream);
    int count = 0, returned = 0;
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(std::size_t(count > 0 ? count : 1));
    conv_.set_math(wanted_math());
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w_desc_.get(), y_desc_.get(),
                                                               conv_.get(), x_desc_.get(), count,
                                                               &returned, perfs.data()));
    data_ = chosen(perfs, returned, "backward-data");
    CCL_CUDA_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        handle, w_desc_.get(), y_desc_.get(), conv_.get(), x_desc_.get(),
        cudnnConvolutionBwdDataAlgo_t(data_.algo), &data_.bytes));
  }

  void plan_filter() {
    cudnnHandle_t handle = gpu::cudnn_context().handle(execution_.stream);
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
  // The layer's parameters and output during the current forward or backward call.
  Parameter<Scalar, cuda>* weight_ = nullptr;
  Parameter<Scalar, cuda>* bias_ = nullptr;
  Input input_;  // device copy of the last forward's x, for dL/dW
  Output* output_ = nullptr;
  gpu::TensorDescriptor x_desc_, y_desc_, bias_desc_;
  gpu::FilterDescriptor w_desc_;
  gpu::ConvolutionDescriptor conv_;
  Shape<Rank + 2> planned_{};  // the input shape the descriptors describe (all 0: none yet)
  bool planned_tf32_ = false;
  Algorithm forward_, data_, filter_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
  Index workspace_limit_ = Index(1) << 26;
  bool deterministic_ = true;
  Execution<cuda> execution_;
};

}  // namespace ccl::nn::detail
