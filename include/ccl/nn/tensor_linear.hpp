#pragma once
// TensorLinear<Scalar, Backend>: nn::Linear (linear.hpp) with the Tensor interface of the other
// layers, so a classifier or projection head can close a Sequential: [N, in] -> [N, out].
// nn::sequential(...) wraps a Linear in it automatically. The copy of the [N, out] result into a
// Tensor is negligible next to Linear's N·in·out GEMM.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/tensor.hpp>

#include <utility>

namespace ccl::nn {

// Written once for every backend (device tensors around nn::Linear<Scalar, ccl::cuda> with
// <ccl/cuda/nn/tensor_linear.hpp> or <ccl/cuda.hpp>). The input tensor is viewed without a copy.
template <class Scalar, class Backend = cpu>
class TensorLinear {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::TensorLinear<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda "
                "(for ccl::cuda include <ccl/cuda/nn/tensor_linear.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, 2, Backend>;
  using Output = Tensor<Scalar, 2, Backend>;
  static constexpr int input_rank = 2;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "Linear";

  TensorLinear(
      Linear<Scalar, Backend> linear)  // NOLINT(google-explicit-constructor): wrapping is lossless
      : linear_(std::move(linear)) {}

  Linear<Scalar, Backend>& linear() { return linear_; }
  const Linear<Scalar, Backend>& linear() const { return linear_; }
  Index in_channels() const { return linear_.in_features(); }
  Index out_channels() const { return linear_.out_features(); }

  const Output& forward(const Input& x) {
    const backend_matrix_t<Scalar, Backend>& y = linear_.forward(x);
    output_.resize({y.rows(), y.cols()});
    copy_into(view(y), output_.mutable_view(), linear_.execution());
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    linear_.backward(grad_y,
                     grad_x != nullptr ? grad_x->mutable_view() : EmbeddingView<Scalar, Backend>{},
                     mode);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    linear_.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    linear_.for_each_parameter(visit);
  }
  void zero_grad() { linear_.zero_grad(); }
  void set_execution(const Execution<Backend>& execution) { linear_.set_execution(execution); }

 private:
  Linear<Scalar, Backend> linear_;
  Output output_;
};

}  // namespace ccl::nn
