#pragma once
// TensorLinear<Scalar, ccl::cuda>: nn::Linear<Scalar, ccl::cuda> with the Tensor interface of the
// device layers (nn/tensor_linear.hpp on the host), so a projection or classifier head can close
// a Sequential of device layers: [N, in] -> [N, out]. The input tensor is viewed without a copy;
// the [N, out] result is copied device to device into the layer's output tensor (negligible next
// to the N·in·out GEMM).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/tensor_linear.hpp>

#include <utility>

namespace ccl::nn {

template <class Scalar>
class TensorLinear<Scalar, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, 2, cuda>;
  using Output = Tensor<Scalar, 2, cuda>;
  static constexpr int input_rank = 2;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "Linear";

  TensorLinear(Linear<Scalar, cuda> linear)  // NOLINT(google-explicit-constructor): lossless
      : linear_(std::move(linear)) {}

  Linear<Scalar, cuda>& linear() { return linear_; }
  const Linear<Scalar, cuda>& linear() const { return linear_; }
  Index in_channels() const { return linear_.in_features(); }
  Index out_channels() const { return linear_.out_features(); }

  const Output& forward(const Input& x) {
    const gpu::DeviceMatrix<Scalar>& y = linear_.forward(x.view());
    output_.resize({y.rows(), y.cols()});
    gpu::copy<Scalar>(y.view(), output_.mutable_view());
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    linear_.backward(grad_y.view(),
                     grad_x != nullptr ? grad_x->mutable_view() : EmbeddingView<Scalar, cuda>{},
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

 private:
  Linear<Scalar, cuda> linear_;
  Output output_;
};

}  // namespace ccl::nn
