#pragma once
// Flatten<Scalar, Rank, ccl::cuda>: the device counterpart of nn::Flatten (ccl/nn/flatten.hpp),
// [N, d1, ..., dk] -> [N, d1 * ... * dk]; C order makes it a device copy.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/flatten.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients

#include <cstddef>

namespace ccl::nn {

template <class Scalar, int Rank>
class Flatten<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(Rank >= 2, "ccl::nn::Flatten: the input needs a batch axis and at least one more");

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank, cuda>;
  using Output = Tensor<Scalar, 2, cuda>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "Flatten";

  static Shape<2> output_shape(const Shape<Rank>& in) {
    return Flatten<Scalar, Rank, cpu>::output_shape(in);
  }

  const Output& forward(const Input& x) {
    input_shape_ = x.shape();
    output_.resize(output_shape(x.shape()));
    if (!x.empty() && static_cast<const void*>(x.data()) != output_.data()) {
      CCL_CUDA_CHECK(cudaMemcpyAsync(output_.data(), x.data(),
                                     std::size_t(x.size()) * sizeof(Scalar),
                                     cudaMemcpyDeviceToDevice, gpu::settings().stream));
    }
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
  Shape<Rank> input_shape_{};
  Output output_;
  bool has_forward_ = false;
};

}  // namespace ccl::nn
