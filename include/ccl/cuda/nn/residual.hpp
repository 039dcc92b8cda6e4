#pragma once
// The device pieces of ccl/nn/residual.hpp: Identity<Scalar, Rank, ccl::cuda> (the shortcut of a
// residual block that keeps the shape) and the device sum that joins the branches,
// Implementation<nn::ops::TensorSum, ccl::cuda>. With them, nn::Residual<Main, Shortcut> of
// device layers runs on the GPU unchanged.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/residual.hpp>

namespace ccl {

template <>
struct Implementation<nn::ops::TensorSum, cuda> {
  /// out = a + b (out is resized; it may alias neither input, Residual's own member never does).
  template <class Scalar, int Rank>
  static void run(const nn::Tensor<Scalar, Rank, cuda>& a, const nn::Tensor<Scalar, Rank, cuda>& b,
                  nn::Tensor<Scalar, Rank, cuda>& out) {
    out.resize(a.shape());
    const long long n = a.size();
    if (n == 0) return;
    gpu::nn_kernels::add_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(n), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(a.data(), b.data(), out.data(), n);
    CCL_CUDA_CHECK_LAUNCH("add_kernel");
  }
};

}  // namespace ccl

namespace ccl::nn {

template <class Scalar, int Rank>
class Identity<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank, cuda>;
  using Output = Tensor<Scalar, Rank, cuda>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr bool preserves_channels = true;
  static constexpr const char* name = "Identity";

  const Output& forward(const Input& x) {
    if (&x != &output_) gpu::copy(x, output_, gpu::settings().stream);
    return output_;
  }
  const Output& output() const { return output_; }
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", output_.shape());
    const long long n = grad_y.size();
    if (n == 0) return;
    gpu::nn_kernels::accumulate_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(n), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(grad_y.data(), grad_x->data(), n);
    CCL_CUDA_CHECK_LAUNCH("accumulate_kernel");
  }
  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  Output output_;
};

}  // namespace ccl::nn
