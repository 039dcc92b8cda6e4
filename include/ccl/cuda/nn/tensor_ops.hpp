#pragma once
// The device side of nn/tensor_ops.hpp: the element-wise ops of the parameter-free layers for
// Tensor<Scalar, Rank, ccl::cuda>, each one kernel (kernels/nn_elementwise.cuh) or one copy,
// asynchronous on the execution's stream.

#include <ccl/core/backend.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::nn {

template <class Scalar, int From, int To>
void copy_elements(const Tensor<Scalar, From, cuda>& from, Tensor<Scalar, To, cuda>& to,
                   const Execution<cuda>& execution) {
  if (from.empty() || static_cast<const void*>(from.data()) == to.data()) return;
  CCL_CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), std::size_t(from.size()) * sizeof(Scalar),
                                 cudaMemcpyDeviceToDevice, execution.stream));
}

template <class Scalar, int From, int To>
void accumulate_elements(const Tensor<Scalar, From, cuda>& from, Tensor<Scalar, To, cuda>& to,
                         const Execution<cuda>& execution) {
  const long long n = from.size();
  gpu::launch_elementwise("accumulate_kernel", n, execution.stream,
                          gpu::nn_kernels::accumulate_kernel<Scalar>, from.data(), to.data(), n);
}

/// out may alias neither input (Residual's own member never does).
template <class Scalar, int Rank>
void add_elements(const Tensor<Scalar, Rank, cuda>& a, const Tensor<Scalar, Rank, cuda>& b,
                  Tensor<Scalar, Rank, cuda>& out, const Execution<cuda>& execution) {
  out.resize(a.shape());
  const long long n = a.size();
  gpu::launch_elementwise("add_kernel", n, execution.stream, gpu::nn_kernels::add_kernel<Scalar>,
                          a.data(), b.data(), out.data(), n);
}

template <class Scalar, int Rank>
void relu_elements(const Tensor<Scalar, Rank, cuda>& x, Tensor<Scalar, Rank, cuda>& out,
                   const Execution<cuda>& execution) {
  const long long n = x.size();
  gpu::launch_elementwise("relu_forward_kernel", n, execution.stream,
                          gpu::nn_kernels::relu_forward_kernel<Scalar>, x.data(), out.data(), n);
}

template <class Scalar, int Rank>
void relu_backward_elements(const Tensor<Scalar, Rank, cuda>& y,
                            const Tensor<Scalar, Rank, cuda>& grad_y,
                            Tensor<Scalar, Rank, cuda>& grad_x, const Execution<cuda>& execution) {
  const long long n = y.size();
  gpu::launch_elementwise("relu_backward_kernel", n, execution.stream,
                          gpu::nn_kernels::relu_backward_kernel<Scalar>, y.data(), grad_y.data(),
                          grad_x.data(), n);
}

template <class Scalar, int Rank>
void zero_elements(Tensor<Scalar, Rank, cuda>& t, const Execution<cuda>& execution) {
  t.set_zero(execution.stream);
}

}  // namespace ccl::nn
