#pragma once
// ReLU<Scalar, Rank>: y = max(x, 0) on a Tensor of any layout (Rank is the tensor's rank, 2 to 5,
// so it follows a Conv3d as ReLU<float, 5> and a Linear as ReLU<float, 2>). As in PyTorch the
// derivative at 0 is taken as 0. The calling convention is Linear's (linear.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <type_traits>

namespace ccl::nn {

// The primary template is the CPU layer; ReLU<Scalar, Rank, ccl::cuda> is in
// <ccl/cuda/nn/relu.hpp>.
template <class Scalar, int Rank, class Backend = cpu>
class ReLU {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::ReLU<Scalar, Rank, ccl::cuda> lives in <ccl/cuda/nn/relu.hpp>; include "
                "it (or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = cpu;
  using Input = Tensor<Scalar, Rank>;
  using Output = Tensor<Scalar, Rank>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr const char* name = "ReLU";
  static constexpr bool preserves_channels = true;

  const Output& forward(const Input& x) {
    output_.resize(x.shape());
    const auto in = x.flat();
    auto out = output_.flat();
    parallel_chunks(x.size(), [&](Index first, Index last) {
      out.segment(first, last - first) = in.segment(first, last - first).cwiseMax(Scalar(0));
    });
    return output_;
  }

  const Output& output() const { return output_; }

  /// grad_x += grad_y where the output is positive (x > 0), 0 elsewhere.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", output_.shape());
    auto dx = grad_x->flat();
    const auto y = output_.flat();
    const auto dy = grad_y.flat();
    parallel_chunks(dx.size(), [&](Index first, Index last) {
      const Index n = last - first;
      dx.segment(first, n).array() +=
          (y.segment(first, n).array() > Scalar(0)).select(dy.segment(first, n).array(), Scalar(0));
    });
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  Output output_;  // workspace returned by forward; its sign is the mask for backward
};

}  // namespace ccl::nn
