#pragma once
// Device pooling: the layers are written once (ccl/nn/pooling.hpp); these are their device
// engines, with the CPU layers' exact semantics (floor mode, window clipping, first maximum wins,
// NaN propagates, count_include_pad):
//
//   WindowPoolEngine<Scalar, Rank, Kind, ccl::cuda>  of MaxPool / AvgPool<Scalar, Rank, ccl::cuda>
//   GlobalAvgPoolEngine<Scalar, Rank, ccl::cuda>     of GlobalAvgPool: [N, C, ...] -> [N, C]
//
// ccl's own kernels (kernels/pooling.cuh) rather than cuDNN's pooling: they reproduce the CPU
// tie-breaking and NaN rules and keep the argmax, and pooling is memory-bound either way.
// Backward is a gather over the windows containing each input (no atomics, deterministic).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/kernels/pooling.cuh>
#include <ccl/cuda/launch.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/nn/tensor_ops.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/pooling.hpp>

#include <climits>
#include <cstddef>

namespace ccl::gpu::detail {

/// The kernels' geometry for pooling `options` over an input of shape `in`; throws naming `op`
/// when the kernel does not fit (the CPU layer's check and message).
template <int Rank>
nn_kernels::PoolGeometry pool_geometry(const char* op, const nn::PoolOptions<Rank>& options,
                                       const nn::Shape<Rank + 2>& in) {
  nn::Shape<Rank> spatial{};
  for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = in[std::size_t(i + 2)];
  const nn::detail::WindowGeometry w =
      nn::detail::make_window_geometry(op, in[1], spatial, options.kernel(), options.stride(),
                                       options.padding(), nn::uniform_shape<Rank>(1));
  require(w.in_size() <= INT_MAX, op, ": ", w.in_size(),
          " spatial positions per channel exceed the kernels' 32-bit plane indices");
  nn_kernels::PoolGeometry g{};
  for (std::size_t a = 0; a < 3; ++a) {
    g.in[a] = int(w.in[a]);
    g.out[a] = int(w.out[a]);
    g.kernel[a] = int(w.kernel[a]);
    g.stride[a] = int(w.stride[a]);
    g.padding[a] = int(w.padding[a]);
  }
  g.count_include_pad = options.count_include_pad();
  return g;
}

}  // namespace ccl::gpu::detail

namespace ccl::nn::detail {

template <class Scalar, int Rank, PoolKind Kind>
class WindowPoolEngine<Scalar, Rank, Kind, cuda> {
  static constexpr bool is_max = Kind == PoolKind::max;
  using Planes = Tensor<Scalar, Rank + 2, cuda>;

 public:
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  void prepare(const char* op, const PoolOptions<Rank>& options, const Shape<Rank + 2>& in) {
    geometry_ = gpu::detail::pool_geometry(op, options, in);
  }

  void forward(const Planes& x, Planes& output) {
    const long long planes = x.batch() * x.channels(), total = planes * geometry_.out_size();
    if constexpr (is_max) argmax_.resize(std::size_t(total));
    gpu::launch_elementwise("pool_forward_kernel", total, execution_.stream,
                            gpu::nn_kernels::pool_forward_kernel<Scalar, is_max>, x.data(),
                            geometry_, planes, output.data(), is_max ? argmax_.data() : nullptr);
  }

  void backward(const Planes& grad_y, Planes& grad_x) {
    const long long planes = grad_x.batch() * grad_x.channels();
    const long long total = planes * geometry_.in_size();
    gpu::launch_elementwise("pool_backward_kernel", total, execution_.stream,
                            gpu::nn_kernels::pool_backward_kernel<Scalar, is_max>, grad_y.data(),
                            is_max ? argmax_.data() : nullptr, geometry_, planes, grad_x.data());
  }

 private:
  gpu::nn_kernels::PoolGeometry geometry_{};
  gpu::DeviceBuffer<int> argmax_;  // max pooling: the winning position within the input plane
  Execution<cuda> execution_;
};

template <class Scalar, int Rank>
struct GlobalAvgPoolEngine<Scalar, Rank, cuda> {
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  void forward(const char* op, const Tensor<Scalar, Rank + 2, cuda>& x,
               Tensor<Scalar, 2, cuda>& output) {
    const long long rows = x.batch() * x.channels();
    require(rows <= INT_MAX, op, ": ", rows, " rows exceed the kernel's grid");
    gpu::nn_kernels::row_mean_kernel<Scalar>
        <<<int(rows), 256, 0, execution_.stream>>>(x.data(), x.spatial_size(), output.data());
    CCL_CUDA_CHECK_LAUNCH("row_mean_kernel");
  }

  void backward(const Tensor<Scalar, 2, cuda>& grad_y, Tensor<Scalar, Rank + 2, cuda>& grad_x) {
    const long long total = grad_x.size();
    gpu::launch_elementwise("row_mean_backward_kernel", total, execution_.stream,
                            gpu::nn_kernels::row_mean_backward_kernel<Scalar>, grad_y.data(),
                            grad_x.spatial_size(), grad_x.data(), total);
  }

  Execution<cuda> execution_;
};

}  // namespace ccl::nn::detail
