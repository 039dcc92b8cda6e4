#pragma once
// ReLU<Scalar, Rank, ccl::cuda>: the device counterpart of nn::ReLU (ccl/nn/relu.hpp),
// y = max(x, 0) with derivative 0 at 0 (PyTorch's rule), NaN propagating as on the CPU.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/relu.hpp>

namespace ccl::nn {

template <class Scalar, int Rank>
class ReLU<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank, cuda>;
  using Output = Tensor<Scalar, Rank, cuda>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr const char* name = "ReLU";
  static constexpr bool preserves_channels = true;

  const Output& forward(const Input& x) {
    // x may be this layer's own output: the kernel is element-wise, so in place is fine, and a
    // resize to the same shape keeps the allocation.
    output_.resize(x.shape());
    if (x.empty()) return output_;
    const long long n = x.size();
    gpu::nn_kernels::relu_forward_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(n), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(x.data(), output_.data(), n);
    CCL_CUDA_CHECK_LAUNCH("relu_forward_kernel");
    return output_;
  }

  const Output& output() const { return output_; }

  /// grad_x += grad_y where the output is positive, 0 elsewhere.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", output_.shape());
    const long long n = output_.size();
    gpu::nn_kernels::relu_backward_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(n), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(output_.data(), grad_y.data(), grad_x->data(), n);
    CCL_CUDA_CHECK_LAUNCH("relu_backward_kernel");
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  Output output_;  // its sign is the mask for backward
};

}  // namespace ccl::nn
