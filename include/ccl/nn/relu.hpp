#pragma once
// ReLU<Scalar, Rank>: y = max(x, 0) on a Tensor of any layout (Rank is the tensor's rank, 2 to 5,
// so it follows a Conv3d as ReLU<float, 5> and a Linear as ReLU<float, 2>). As in PyTorch the
// derivative at 0 is taken as 0. The calling convention is Linear's (linear.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/no_parameters.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_ops.hpp>

namespace ccl::nn {

// Written once for every backend over the tensor ops of nn/tensor_ops.hpp; ccl::cuda needs
// <ccl/cuda/nn/relu.hpp> (or <ccl/cuda.hpp>), which brings their device versions.
template <class Scalar, int Rank, class Backend = cpu>
class ReLU : public detail::NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::ReLU<Scalar, Rank, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/nn/relu.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank, Backend>;
  using Output = Tensor<Scalar, Rank, Backend>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr const char* name = "ReLU";
  static constexpr bool preserves_channels = true;

  const Output& forward(const Input& x) {
    // x may be this layer's own output: the op is element-wise, so in place is fine, and a
    // resize to the same shape keeps the allocation.
    output_.resize(x.shape());
    relu_elements(x, output_, this->execution_);
    return output_;
  }

  const Output& output() const { return output_; }

  /// grad_x += grad_y where the output is positive (x > 0), 0 elsewhere.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    if (!tensor_checks::backward_arguments(name, !output_.empty(), grad_y, output_.shape(), grad_x,
                                           output_.shape()))
      return;
    relu_backward_elements(output_, grad_y, *grad_x, this->execution_);
  }

 private:
  Output output_;  // workspace returned by forward; its sign is the mask for backward
};

}  // namespace ccl::nn
