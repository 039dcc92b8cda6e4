#pragma once
// Flatten<Scalar, Rank>: [N, d1, ..., dk] -> [N, d1 * ... * dk], PyTorch's nn.Flatten() (start
// dimension 1). C order makes it a copy without permutation; it exists so that the rank change
// from feature maps to embeddings is explicit in a network's type.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <type_traits>

namespace ccl::nn {

// The primary template is the CPU layer; Flatten<Scalar, Rank, ccl::cuda> is in
// <ccl/cuda/nn/flatten.hpp>.
template <class Scalar, int Rank, class Backend = cpu>
class Flatten {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Flatten<Scalar, Rank, ccl::cuda> lives in <ccl/cuda/nn/flatten.hpp>; "
                "include it (or <ccl/cuda.hpp>)");
  static_assert(Rank >= 2, "ccl::nn::Flatten: the input needs a batch axis and at least one more");

 public:
  using scalar_type = Scalar;
  using backend_type = cpu;
  using Input = Tensor<Scalar, Rank>;
  using Output = Tensor<Scalar, 2>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "Flatten";

  static Shape<2> output_shape(const Shape<Rank>& in) {
    return {in[0], in[0] > 0 ? shape_size(in) / in[0] : 0};
  }

  const Output& forward(const Input& x) {
    input_shape_ = x.shape();
    output_.resize(output_shape(x.shape()));
    output_.flat() = x.flat();
    has_forward_ = true;
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(has_forward_, name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", input_shape_);
    grad_x->flat() += grad_y.flat();
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  Shape<Rank> input_shape_{};
  Output output_;
  bool has_forward_ = false;
};

}  // namespace ccl::nn
