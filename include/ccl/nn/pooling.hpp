#pragma once
// Pooling over the spatial axes of [N, C, spatial...], PyTorch semantics (floor mode):
//
//   MaxPool<Scalar, Rank>        nn.MaxPoolNd(kernel, stride = kernel, padding): the padding acts
//                                as −∞; ties go to the first maximum in scan order and NaN
//                                propagates, as in PyTorch's CPU kernel; padding ≤ kernel / 2.
//   AvgPool<Scalar, Rank>        nn.AvgPoolNd(kernel, stride = kernel, padding,
//                                count_include_pad = true): the padding counts as zeros in the
//                                divisor unless count_include_pad(false).
//   GlobalAvgPool<Scalar, Rank>  nn.AdaptiveAvgPoolNd(1) followed by flatten: [N, C, ...] -> [N, C]
//                                (method.md §3.1: the student's x_v is the pooled conv5 output).
//
// Pooling is memory-bound, so a direct loop over the (3D-lifted) windows is as fast as anything
// cleverer; the calling convention is Linear's (linear.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/detail/no_parameters.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

namespace ccl::nn {

/// Window options; the stride defaults to the kernel, as in PyTorch.
template <int Rank>
class PoolOptions {
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::PoolOptions: Rank is the number of spatial "
                "axes: 1, 2 or 3");

 public:
  explicit PoolOptions(const Shape<Rank>& kernel) : kernel_(kernel), stride_(kernel) {}
  explicit PoolOptions(Index kernel) : PoolOptions(uniform_shape<Rank>(kernel)) {}

  PoolOptions& stride(const Shape<Rank>& value) { return set(stride_, value); }
  PoolOptions& stride(Index value) { return set(stride_, uniform_shape<Rank>(value)); }
  PoolOptions& padding(const Shape<Rank>& value) { return set(padding_, value); }
  PoolOptions& padding(Index value) { return set(padding_, uniform_shape<Rank>(value)); }
  /// Average pooling only: whether padded positions count in the divisor (PyTorch: true).
  PoolOptions& count_include_pad(bool value) {
    count_include_pad_ = value;
    return *this;
  }

  const Shape<Rank>& kernel() const { return kernel_; }
  const Shape<Rank>& stride() const { return stride_; }
  const Shape<Rank>& padding() const { return padding_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  PoolOptions& set(Shape<Rank>& field, const Shape<Rank>& value) {
    field = value;
    return *this;
  }

  Shape<Rank> kernel_;
  Shape<Rank> stride_;
  Shape<Rank> padding_ = uniform_shape<Rank>(0);
  bool count_include_pad_ = true;
};

namespace detail {

enum class PoolKind { max, average };

/// The output shape of pooling `options` over an input of shape `in` (throws naming `op` when the
/// window does not fit).
template <int Rank>
Shape<Rank + 2> pool_output_shape(const char* op, const PoolOptions<Rank>& options,
                                  const Shape<Rank + 2>& in) {
  Shape<Rank> spatial{};
  for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = in[std::size_t(i + 2)];
  const WindowGeometry g =
      make_window_geometry(op, in[1], spatial, options.kernel(), options.stride(),
                           options.padding(), uniform_shape<Rank>(1));
  Shape<Rank + 2> out = in;
  for (int i = 0; i < Rank; ++i) out[std::size_t(i + 2)] = g.out[std::size_t(3 - Rank + i)];
  return out;
}

/// The window loop of MaxPool / AvgPool on one backend: the host version here (one task per
/// (sample, channel) plane); the device kernels are the specialisation in
/// <ccl/cuda/nn/pooling.hpp>. prepare() fixes the geometry of a forward; backward() uses the
/// last forward's.
template <class Scalar, int Rank, PoolKind Kind, class Backend>
class WindowPoolEngine {
  static_assert(
      std::is_same_v<Backend, cpu>,
      "ccl::nn::MaxPool / AvgPool<Scalar, Rank, ccl::cuda> need <ccl/cuda/nn/pooling.hpp>; "
      "include it (or <ccl/cuda.hpp>)");
  using Planes = Tensor<Scalar, Rank + 2>;

 public:
  void prepare(const char* op, const PoolOptions<Rank>& options, const Shape<Rank + 2>& in) {
    Shape<Rank> spatial{};
    for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = in[std::size_t(i + 2)];
    g_ = make_window_geometry(op, in[1], spatial, options.kernel(), options.stride(),
                              options.padding(), uniform_shape<Rank>(1));
    count_include_pad_ = options.count_include_pad();
  }

  void forward(const Planes& x, Planes& output) {
    const WindowGeometry& g = g_;
    const Index planes = x.batch() * x.channels(), in_p = g.in_size(), out_p = g.out_size();
    if constexpr (Kind == PoolKind::max) argmax_.resize(std::size_t(planes * out_p));
    // Planes (sample, channel) are independent: one task each.
    parallel_for(0, planes, [&](Index plane, int) {
      const Scalar* in = x.data() + plane * in_p;
      Scalar* out = output.data() + plane * out_p;
      for_each_window(g, [&](Index o, Index first[3], Index last[3]) {
        if constexpr (Kind == PoolKind::max) {
          Scalar best = -std::numeric_limits<Scalar>::infinity();
          Index where = -1;
          for (Index t = first[0]; t < last[0]; ++t)
            for (Index h = first[1]; h < last[1]; ++h)
              for (Index w = first[2]; w < last[2]; ++w) {
                const Index i = (t * g.in[1] + h) * g.in[2] + w;
                if (in[i] > best || std::isnan(in[i]) || where < 0) {
                  best = in[i];
                  where = i;
                }
              }
          out[o] = best;
          argmax_[std::size_t(plane * out_p + o)] = where;
        } else {
          Scalar sum = 0;
          for (Index t = first[0]; t < last[0]; ++t)
            for (Index h = first[1]; h < last[1]; ++h)
              for (Index w = first[2]; w < last[2]; ++w) sum += in[(t * g.in[1] + h) * g.in[2] + w];
          out[o] = sum / divisor(g, first, last);
        }
      });
    });
  }

  /// Max: grad_x[argmax] += grad_y. Average: every input of the window gets grad_y / divisor.
  void backward(const Planes& grad_y, Planes& grad_x) {
    const WindowGeometry& g = g_;
    const Index planes = grad_x.batch() * grad_x.channels(), in_p = g.in_size(),
                out_p = g.out_size();
    parallel_for(0, planes, [&](Index plane, int) {
      Scalar* dx = grad_x.data() + plane * in_p;
      const Scalar* dy = grad_y.data() + plane * out_p;
      if constexpr (Kind == PoolKind::max) {
        for (Index o = 0; o < out_p; ++o) dx[argmax_[std::size_t(plane * out_p + o)]] += dy[o];
      } else {
        for_each_window(g, [&](Index o, Index first[3], Index last[3]) {
          const Scalar share = dy[o] / divisor(g, first, last);
          for (Index t = first[0]; t < last[0]; ++t)
            for (Index h = first[1]; h < last[1]; ++h)
              for (Index w = first[2]; w < last[2]; ++w)
                dx[(t * g.in[1] + h) * g.in[2] + w] += share;
        });
      }
    });
  }

 private:
  // Calls f(o, first, last) for every output position o with the window clipped to the input:
  // input indices [first[a], last[a]) along each of the three lifted axes.
  template <class F>
  static void for_each_window(const WindowGeometry& g, F&& f) {
    Index first[3], last[3];
    Index o = 0;
    for (Index t = 0; t < g.out[0]; ++t)
      for (Index h = 0; h < g.out[1]; ++h)
        for (Index w = 0; w < g.out[2]; ++w, ++o) {
          const Index pos[3] = {t, h, w};
          for (int a = 0; a < 3; ++a) {
            const Index start = pos[a] * g.stride[std::size_t(a)] - g.padding[std::size_t(a)];
            first[a] = std::max<Index>(start, 0);
            last[a] = std::min<Index>(start + g.kernel[std::size_t(a)], g.in[std::size_t(a)]);
          }
          f(o, first, last);
        }
  }

  Scalar divisor(const WindowGeometry& g, const Index first[3], const Index last[3]) const {
    // In floor mode the window never leaves the padded input, so with count_include_pad the
    // divisor is the full kernel size (PyTorch's pool_size).
    if (count_include_pad_) return Scalar(g.kernel_size());
    return Scalar((last[0] - first[0]) * (last[1] - first[1]) * (last[2] - first[2]));
  }

  WindowGeometry g_{};
  bool count_include_pad_ = true;
  std::vector<Index> argmax_;  // max pooling: the winning input position of each output
};

/// MaxPool and AvgPool, written once for both backends: options, checks, shapes and the calling
/// convention here, the window loop in WindowPoolEngine<..., Backend>.
template <class Scalar, int Rank, PoolKind Kind, class Backend = cpu>
class WindowPool : public NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::MaxPool / AvgPool: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda "
                "include <ccl/cuda/nn/pooling.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank + 2, Backend>;
  using Output = Tensor<Scalar, Rank + 2, Backend>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = Rank + 2;
  static constexpr const char* name = Kind == PoolKind::max ? (Rank == 1   ? "MaxPool1d"
                                                               : Rank == 2 ? "MaxPool2d"
                                                                           : "MaxPool3d")
                                                            : (Rank == 1   ? "AvgPool1d"
                                                               : Rank == 2 ? "AvgPool2d"
                                                                           : "AvgPool3d");
  static constexpr bool preserves_channels = true;

  explicit WindowPool(const PoolOptions<Rank>& options) : options_(options) {
    for (std::size_t a = 0; a < std::size_t(Rank); ++a) {
      require(options.kernel()[a] > 0 && options.stride()[a] > 0 && options.padding()[a] >= 0, name,
              ": kernel ", shape_string(options.kernel()), " and stride ",
              shape_string(options.stride()), " must be positive and padding ",
              shape_string(options.padding()), " non-negative");
      require(2 * options.padding()[a] <= options.kernel()[a], name, ": padding ",
              shape_string(options.padding()), " must be at most half the kernel ",
              shape_string(options.kernel()));
    }
  }
  explicit WindowPool(Index kernel) : WindowPool(PoolOptions<Rank>(kernel)) {}

  const PoolOptions<Rank>& options() const { return options_; }

  Shape<Rank + 2> output_shape(const Shape<Rank + 2>& in) const {
    return pool_output_shape(name, options_, in);
  }

  const Output& forward(const Input& x) {
    if (static_cast<const void*>(x.data()) == output_.data() && !x.empty()) {
      // Pooling its own output again: resizing output_ would free x first.
      Input copy;
      copy.resize(x.shape());
      copy_elements(x, copy, this->execution_);
      return forward(copy);
    }
    tensor_checks::non_empty(name, "input", x);
    engine_.prepare(name, options_, x.shape());
    output_.resize(output_shape(x.shape()));
    input_shape_ = x.shape();
    engine_.forward(x, output_);
    return output_;
  }

  const Output& output() const { return output_; }

  /// Max: grad_x[argmax] += grad_y. Average: every input of the window gets grad_y / divisor.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    if (!tensor_checks::backward_arguments(name, !output_.empty(), grad_y, output_.shape(), grad_x,
                                           input_shape_))
      return;
    engine_.backward(grad_y, *grad_x);
  }

  /// The copies and the engine's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    rebind_execution(this->execution_, execution);
    ccl::set_execution(engine_, execution);
  }

 private:
  PoolOptions<Rank> options_;
  Shape<Rank + 2> input_shape_{};
  Output output_;
  WindowPoolEngine<Scalar, Rank, Kind, Backend> engine_;
};

/// The per-channel mean of GlobalAvgPool on one backend (host version; the device one is in
/// <ccl/cuda/nn/pooling.hpp>).
template <class Scalar, int Rank, class Backend>
struct GlobalAvgPoolEngine {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::GlobalAvgPool<Scalar, Rank, ccl::cuda> needs <ccl/cuda/nn/pooling.hpp>; "
                "include it (or <ccl/cuda.hpp>)");

  void forward(const char* /*op*/, const Tensor<Scalar, Rank + 2>& x, Tensor<Scalar, 2>& output) {
    output.flat() =
        Eigen::Map<const RowMatrix<Scalar>>(x.data(), x.batch() * x.channels(), x.spatial_size())
            .rowwise()
            .mean();
  }
  void backward(const Tensor<Scalar, 2>& grad_y, Tensor<Scalar, Rank + 2>& grad_x) {
    const Index rows = grad_x.batch() * grad_x.channels(), positions = grad_x.spatial_size();
    Eigen::Map<RowMatrix<Scalar>>(grad_x.data(), rows, positions).colwise() +=
        grad_y.flat() / Scalar(positions);
  }
};

}  // namespace detail

template <class Scalar, int Rank, class Backend = cpu>
using MaxPool = detail::WindowPool<Scalar, Rank, detail::PoolKind::max, Backend>;
template <class Scalar, int Rank, class Backend = cpu>
using AvgPool = detail::WindowPool<Scalar, Rank, detail::PoolKind::average, Backend>;

/// [N, C, spatial...] -> [N, C]: the mean over all spatial positions of each channel, written
/// once for both backends (the arithmetic in detail::GlobalAvgPoolEngine).
template <class Scalar, int Rank, class Backend = cpu>
class GlobalAvgPool : public detail::NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::GlobalAvgPool: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda "
                "include <ccl/cuda/nn/pooling.hpp> or <ccl/cuda.hpp>)");
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::GlobalAvgPool: Rank is the number of spatial "
                "axes: 1, 2 or 3");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank + 2, Backend>;
  using Output = Tensor<Scalar, 2, Backend>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = 2;
  static constexpr const char* name = "GlobalAvgPool";
  static constexpr bool preserves_channels = true;

  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    input_shape_ = x.shape();
    output_.resize({x.batch(), x.channels()});
    engine_.forward(name, x, output_);
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    if (!tensor_checks::backward_arguments(name, !output_.empty(), grad_y, output_.shape(), grad_x,
                                           input_shape_))
      return;
    engine_.backward(grad_y, *grad_x);
  }

  /// The engine's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    rebind_execution(this->execution_, execution);
    ccl::set_execution(engine_, execution);
  }

 private:
  Shape<Rank + 2> input_shape_{};
  Output output_;
  detail::GlobalAvgPoolEngine<Scalar, Rank, Backend> engine_;
};

}  // namespace ccl::nn
