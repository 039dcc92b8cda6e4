#pragma once
// Flatten<Scalar, Rank>: [N, d1, ..., dk] -> [N, d1 * ... * dk], PyTorch's nn.Flatten() (start
// dimension 1). C order makes it a copy without permutation; it exists so that the rank change
// from feature maps to embeddings is explicit in a network's type.

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
// <ccl/cuda/nn/flatten.hpp> (or <ccl/cuda.hpp>), which brings their device versions.
template <class Scalar, int Rank, class Backend = cpu>
class Flatten : public detail::NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(
      is_backend_v<Backend>,
      "ccl::nn::Flatten<Scalar, Rank, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
      "ccl::cuda include <ccl/cuda/nn/flatten.hpp> or <ccl/cuda.hpp>)");
  static_assert(Rank >= 2, "ccl::nn::Flatten: the input needs a batch axis and at least one more");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank, Backend>;
  using Output = Tensor<Scalar, 2, Backend>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "Flatten";

  static Shape<2> output_shape(const Shape<Rank>& in) {
    return {in[0], in[0] > 0 ? shape_size(in) / in[0] : 0};
  }

  const Output& forward(const Input& x) {
    input_shape_ = x.shape();
    output_.resize(output_shape(x.shape()));
    copy_elements(x, output_, this->execution_);
    has_forward_ = true;
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    if (!tensor_checks::backward_arguments(name, has_forward_, grad_y, output_.shape(), grad_x,
                                           input_shape_))
      return;
    accumulate_elements(grad_y, *grad_x, this->execution_);
  }

 private:
  Shape<Rank> input_shape_{};
  Output output_;
  bool has_forward_ = false;
};

}  // namespace ccl::nn
