#pragma once
// Device pooling, the counterparts of ccl/nn/pooling.hpp with the CPU layers' exact semantics
// (floor mode, window clipping, first maximum wins, NaN propagates, count_include_pad):
//
//   WindowPool<Scalar, Rank, Kind, ccl::cuda>  MaxPool / AvgPool<Scalar, Rank, ccl::cuda>
//   GlobalAvgPool<Scalar, Rank, ccl::cuda>     [N, C, ...] -> [N, C]
//
// ccl's own kernels (kernels/pooling.cuh) rather than cuDNN's pooling: they reproduce the CPU
// tie-breaking and NaN rules and keep the argmax, and pooling is memory-bound either way.
// Backward is a gather over the windows containing each input (no atomics, deterministic).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/kernels/pooling.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/settings.hpp>
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

namespace ccl::nn {
namespace detail {

template <class Scalar, int Rank, PoolKind Kind>
class WindowPool<Scalar, Rank, Kind, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  using Host = WindowPool<Scalar, Rank, Kind, cpu>;
  static constexpr bool is_max = Kind == PoolKind::max;

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank + 2, cuda>;
  using Output = Tensor<Scalar, Rank + 2, cuda>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = Rank + 2;
  static constexpr const char* name = Host::name;
  static constexpr bool preserves_channels = true;

  /// The CPU layer's option checks and messages.
  explicit WindowPool(const PoolOptions<Rank>& options) : options_(Host(options).options()) {}
  explicit WindowPool(Index kernel) : WindowPool(PoolOptions<Rank>(kernel)) {}

  const PoolOptions<Rank>& options() const { return options_; }

  Shape<Rank + 2> output_shape(const Shape<Rank + 2>& in) const {
    const auto g = gpu::detail::pool_geometry(name, options_, in);
    Shape<Rank + 2> out = in;
    for (int i = 0; i < Rank; ++i) out[std::size_t(i + 2)] = g.out[3 - Rank + i];
    return out;
  }

  const Output& forward(const Input& x) {
    if (static_cast<const void*>(x.data()) == output_.data() && !x.empty()) {
      // Pooling its own output: the resize of output_ could free x first.
      Input copy;
      gpu::copy(x, copy, gpu::settings().stream);
      return forward(copy);
    }
    tensor_checks::non_empty(name, "input", x);
    geometry_ = gpu::detail::pool_geometry(name, options_, x.shape());
    output_.resize(output_shape(x.shape()));
    input_shape_ = x.shape();
    const long long planes = x.batch() * x.channels(), total = planes * geometry_.out_size();
    if constexpr (is_max) argmax_.resize(std::size_t(total));
    gpu::nn_kernels::pool_forward_kernel<Scalar, is_max>
        <<<gpu::nn_kernels::grid_blocks(total), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(x.data(), geometry_, planes, output_.data(),
                                     is_max ? argmax_.data() : nullptr);
    CCL_CUDA_CHECK_LAUNCH("pool_forward_kernel");
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", input_shape_);
    const long long planes = input_shape_[0] * input_shape_[1];
    const long long total = planes * geometry_.in_size();
    gpu::nn_kernels::pool_backward_kernel<Scalar, is_max>
        <<<gpu::nn_kernels::grid_blocks(total), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(grad_y.data(), is_max ? argmax_.data() : nullptr, geometry_,
                                     planes, grad_x->data());
    CCL_CUDA_CHECK_LAUNCH("pool_backward_kernel");
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  PoolOptions<Rank> options_;
  Shape<Rank + 2> input_shape_{};
  gpu::nn_kernels::PoolGeometry geometry_{};
  Output output_;
  gpu::DeviceBuffer<int> argmax_;  // max pooling: the winning position within the input plane
};

}  // namespace detail

template <class Scalar, int Rank>
class GlobalAvgPool<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::GlobalAvgPool: Rank is the number of spatial axes: 1, 2 or 3");

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank + 2, cuda>;
  using Output = Tensor<Scalar, 2, cuda>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "GlobalAvgPool";
  static constexpr bool preserves_channels = true;

  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    input_shape_ = x.shape();
    const long long rows = x.batch() * x.channels();
    require(rows <= INT_MAX, name, ": ", rows, " rows exceed the kernel's grid");
    output_.resize({x.batch(), x.channels()});
    gpu::nn_kernels::row_mean_kernel<Scalar><<<int(rows), 256, 0, gpu::settings().stream>>>(
        x.data(), x.spatial_size(), output_.data());
    CCL_CUDA_CHECK_LAUNCH("row_mean_kernel");
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", input_shape_);
    const long long total = grad_x->size();
    gpu::nn_kernels::row_mean_backward_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(total), gpu::nn_kernels::block_threads, 0,
           gpu::settings().stream>>>(grad_y.data(), grad_x->spatial_size(), grad_x->data(),
                                     total);
    CCL_CUDA_CHECK_LAUNCH("row_mean_backward_kernel");
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  Shape<Rank + 2> input_shape_{};
  Output output_;
};

}  // namespace ccl::nn
