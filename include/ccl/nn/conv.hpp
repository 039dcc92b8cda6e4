#pragma once
// ConvNd<Scalar, Rank>: PyTorch's nn.Conv1d / Conv2d / Conv3d (groups = 1) on [N, C, spatial...],
// computed as im2col (detail/im2col.hpp) followed by a GEMM per sample.
//
//   weight  [Cout, Cin * prod(kernel)]  = PyTorch's [Cout, Cin, k...] flattened row-major
//   bias    [1, Cout]                   (optional)
//
// The calling convention is Linear's (linear.hpp): forward returns a reference to a member
// workspace and keeps a copy of x; backward ADDS into the parameters' gradients and, when asked,
// into grad_x.
//
// Threads (ccl::num_threads()): when the batch has at least one sample per thread, each thread
// takes whole samples and runs im2col, a single-threaded GEMM and col2im on them with its own
// buffers (one fork per layer, a sample's columns hot in cache); the weight gradient is summed per
// thread and the partial sums added in thread order. A clip whose columns exceed the workspace
// limit (set_workspace_limit) is processed in blocks of output time steps, so a 16x112x112 clip
// does not need gigabytes. The forward's columns are kept for backward when the whole batch's fit
// the limit (no second im2col); otherwise backward recomputes them from the saved input. A batch
// smaller than the team takes the batched path instead: chunks of samples whose columns fit the
// limit, each product split over the team (ccl::parallel_gemm), im2col/col2im one (sample,
// channel) plane per task. Either way the result is identical from run to run at a given thread
// count and depends on the thread count by summation order only.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/detail/workspace.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::nn {

/// Construction options in the style of LibTorch's ConvNdOptions: the same name reads the value
/// (`opts.stride()`) and sets it (`opts.stride(2)`), so the options chain.
template <int Rank>
class ConvOptions {
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::ConvOptions: Rank is the number of spatial "
                "axes: 1 (audio), 2 (image) or 3 (video)");

 public:
  ConvOptions(Index in_channels, Index out_channels, const Shape<Rank>& kernel)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {}
  ConvOptions(Index in_channels, Index out_channels, Index kernel)
      : ConvOptions(in_channels, out_channels, uniform_shape<Rank>(kernel)) {}

  ConvOptions& stride(const Shape<Rank>& value) { return set(stride_, value); }
  ConvOptions& stride(Index value) { return set(stride_, uniform_shape<Rank>(value)); }
  ConvOptions& padding(const Shape<Rank>& value) { return set(padding_, value); }
  ConvOptions& padding(Index value) { return set(padding_, uniform_shape<Rank>(value)); }
  ConvOptions& dilation(const Shape<Rank>& value) { return set(dilation_, value); }
  ConvOptions& dilation(Index value) { return set(dilation_, uniform_shape<Rank>(value)); }
  ConvOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }

  Index in_channels() const { return in_channels_; }
  Index out_channels() const { return out_channels_; }
  const Shape<Rank>& kernel() const { return kernel_; }
  const Shape<Rank>& stride() const { return stride_; }
  const Shape<Rank>& padding() const { return padding_; }
  const Shape<Rank>& dilation() const { return dilation_; }
  bool bias() const { return bias_; }

 private:
  ConvOptions& set(Shape<Rank>& field, const Shape<Rank>& value) {
    field = value;
    return *this;
  }

  Index in_channels_;
  Index out_channels_;
  Shape<Rank> kernel_;
  Shape<Rank> stride_ = uniform_shape<Rank>(1);
  Shape<Rank> padding_ = uniform_shape<Rank>(0);
  Shape<Rank> dilation_ = uniform_shape<Rank>(1);
  bool bias_ = true;
};

// The Backend argument says where the layer computes. This primary template is the CPU layer;
// ConvNd<Scalar, Rank, ccl::cuda> (cuDNN) is the specialisation in <ccl/cuda/nn/conv.hpp>.
namespace detail {

/// The construction checks of every ConvNd backend: positive channels, kernel, stride and
/// dilation, non-negative padding; `op` names the layer in the message.
template <int Rank>
void check_conv_options(const char* op, const ConvOptions<Rank>& options) {
  require(options.in_channels() > 0 && options.out_channels() > 0, op,
          ": channel counts must be positive, got in = ", options.in_channels(),
          ", out = ", options.out_channels());
  for (int i = 0; i < Rank; ++i) {
    const auto a = std::size_t(i);
    require(options.kernel()[a] > 0 && options.stride()[a] > 0 && options.dilation()[a] > 0 &&
                options.padding()[a] >= 0,
            op, ": kernel ", shape_string(options.kernel()), ", stride ",
            shape_string(options.stride()), " and dilation ", shape_string(options.dilation()),
            " must be positive and padding ", shape_string(options.padding()), " non-negative");
  }
}

/// The output shape [N, Cout, spatial...] of a convolution for an input shape [N, Cin, ...]
/// (PyTorch's floor formula); throws naming `op` when the kernel does not fit.
template <int Rank>
Shape<Rank + 2> conv_output_shape(const char* op, const ConvOptions<Rank>& options,
                                  const Shape<Rank + 2>& in) {
  Shape<Rank> spatial{};
  for (int i = 0; i < Rank; ++i) spatial[std::size_t(i)] = in[std::size_t(i + 2)];
  const WindowGeometry g =
      make_window_geometry(op, options.in_channels(), spatial, options.kernel(), options.stride(),
                           options.padding(), options.dilation());
  Shape<Rank + 2> out{};
  out[0] = in[0];
  out[1] = options.out_channels();
  for (int i = 0; i < Rank; ++i) out[std::size_t(i + 2)] = g.out[std::size_t(3 - Rank + i)];
  return out;
}

/// The name PyTorch gives a convolution of `Rank` spatial axes.
template <int Rank>
constexpr const char* conv_name() {
  return Rank == 1 ? "Conv1d" : Rank == 2 ? "Conv2d" : "Conv3d";
}

/// ConvNd's arithmetic on one backend: the host version here (im2col + ccl's GEMM, threads over
/// samples or inside each product); the device one (cuDNN) is the specialisation in
/// <ccl/cuda/nn/conv.hpp>. forward() keeps its own copy of x for backward(); the layer's
/// parameters and output are passed in by ConvNd on every call.
template <class Scalar, int Rank, class Backend>
class ConvEngine {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::ConvNd<Scalar, Rank, ccl::cuda> needs <ccl/cuda/nn/conv.hpp>; include it "
                "(or <ccl/cuda.hpp>) for the cuDNN convolution");
  using Input = Tensor<Scalar, Rank + 2>;
  using Output = Tensor<Scalar, Rank + 2>;
  static constexpr const char* name = conv_name<Rank>();

 public:
  explicit ConvEngine(const ConvOptions<Rank>& options) : options_(options) {}

  /// The im2col buffers' cap, in scalars (ConvNd::set_workspace_limit).
  void set_workspace_limit(Index elements) { workspace_limit_ = elements; }
  /// The host convolution is always deterministic for a given thread count.
  void set_deterministic(bool /*on*/) {}

  bool has_input() const { return !input_.empty(); }
  const Shape<Rank + 2>& input_shape() const { return input_.shape(); }

  /// y = conv(x, W) + b into `output`.
  void forward(const Input& x, Parameter<Scalar>& layer_weight, Parameter<Scalar>& layer_bias,
               bool check_finite, Output& output) {
    weight_ = &layer_weight;
    bias_ = &layer_bias;
    output_ = &output;
    if (check_finite) tensor_checks::finite(name, "input", x);
    const auto g = geometry(x.spatial());
    // Everything below reads the copy: x may be this layer's own output (a layer applied twice,
    // weights shared), which the resize of output_ can reallocate.
    input_.assign(x);
    output_->resize(conv_output_shape(name, options_, input_.shape()));
    columns_kept_ = false;  // forward_by_samples may keep this input's columns
    const Index batch = input_.batch(), in_size = g.channels * g.in_size(), out_p = g.out_size();
    const Index cout = out_channels();
    if (const int team = sample_team(batch); team > 0) {
      forward_by_samples(g, team);
      return;
    }
    const auto weight = gemm_arg(weight_->value);
    if (g.pointwise()) {
      for (Index n = 0; n < batch; ++n) {
        parallel_gemm(sample_matrix(output_->data(), n, cout, out_p), weight,
                      gemm_arg(const_sample(input_.data(), n, g.channels, out_p)), Gemm::overwrite,
                      gemm_scratch_);
      }
    } else {
      const Index chunk = chunk_size(g, batch);
      for (Index n0 = 0; n0 < batch; n0 += chunk) {
        const Index count = std::min(chunk, batch - n0);
        const auto columns = fill_columns(g, input_.data() + n0 * in_size, count);
        if (count == 1) {
          parallel_gemm(sample_matrix(output_->data(), n0, cout, out_p), weight, gemm_arg(columns),
                        Gemm::overwrite, gemm_scratch_);
        } else {
          auto product = product_.matrix(cout, count * out_p);
          parallel_gemm(product, weight, gemm_arg(columns), Gemm::overwrite, gemm_scratch_);
          // [Cout, count·P] -> count samples of [Cout, P]: one (sample, channel) row per task.
          parallel_for(
              0, count * cout,
              [&](Index task, int) {
                const Index sample = task / cout, channel = task % cout;
                sample_matrix(output_->data(), n0 + sample, cout, out_p).row(channel) =
                    product.row(channel).segment(sample * out_p, out_p);
              },
              8);
        }
      }
    }
    if (options_.bias()) {
      parallel_for(
          0, batch * cout,
          [&](Index task, int) {
            sample_matrix(output_->data(), task / cout, cout, out_p).row(task % cout).array() +=
                bias_->value(0, task % cout);
          },
          8);
    }
  }

  /// grad W += dY colsᵀ, grad b += Σ dY (when `params`), grad_x += col2im(Wᵀ dY) (when given).
  void backward(const Output& grad_y, Input* grad_x, bool params,
                Parameter<Scalar>& layer_weight, Parameter<Scalar>& layer_bias) {
    weight_ = &layer_weight;
    bias_ = &layer_bias;
    const auto g = geometry(input_.spatial());
    const Index batch = input_.batch(), out_p = g.out_size();
    const Index cout = out_channels();
    if (params && options_.bias()) {
      // One output channel per task, its samples summed in order: no shared writes.
      parallel_for(0, cout, [&](Index channel, int) {
        Scalar sum = 0;
        for (Index n = 0; n < batch; ++n)
          sum += const_sample(grad_y.data(), n, cout, out_p).row(channel).sum();
        bias_->grad(0, channel) += sum;
      });
    }
    if (const int team = sample_team(batch); team > 0) {
      backward_by_samples(g, team, grad_y, params, grad_x);
      return;
    }
    if (g.pointwise()) {
      for (Index n = 0; n < batch; ++n) {
        const auto dy = gemm_arg(const_sample(grad_y.data(), n, cout, out_p));
        if (params)
          parallel_gemm(weight_->grad, dy,
                        gemm_arg_transposed(const_sample(input_.data(), n, g.channels, out_p)),
                        Gemm::accumulate, gemm_scratch_);
        if (grad_x != nullptr)
          parallel_gemm(sample_matrix(grad_x->data(), n, g.channels, out_p),
                        gemm_arg_transposed(weight_->value), dy, Gemm::accumulate, gemm_scratch_);
      }
      return;
    }
    const Index chunk = chunk_size(g, batch);
    for (Index n0 = 0; n0 < batch; n0 += chunk) {
      const Index count = std::min(chunk, batch - n0);
      if (count == 1) {
        backward_chunk(g, n0, count, const_sample(grad_y.data(), n0, cout, out_p), params, grad_x);
      } else {
        auto gathered = product_.matrix(cout, count * out_p);
        parallel_for(
            0, count * cout,
            [&](Index task, int) {
              const Index sample = task / cout, channel = task % cout;
              gathered.row(channel).segment(sample * out_p, out_p) =
                  const_sample(grad_y.data(), n0 + sample, cout, out_p).row(channel);
            },
            8);
        backward_chunk(g, n0, count, gathered, params, grad_x);
      }
    }
  }

 private:
  Index in_channels() const { return options_.in_channels(); }
  Index out_channels() const { return options_.out_channels(); }
  Index fan_in() const { return options_.in_channels() * shape_size(options_.kernel()); }
  using SampleMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstSampleMap = Eigen::Map<const RowMatrix<Scalar>>;

  // Sample n of an [N, rows, cols] buffer as a [rows, cols] matrix.
  static SampleMap sample_matrix(Scalar* data, Index n, Index rows, Index cols) {
    return SampleMap(data + n * rows * cols, rows, cols);
  }
  static ConstSampleMap const_sample(const Scalar* data, Index n, Index rows, Index cols) {
    return ConstSampleMap(data + n * rows * cols, rows, cols);
  }

  detail::WindowGeometry geometry(const Shape<Rank>& in) const {
    return detail::make_window_geometry(name, in_channels(), in, options_.kernel(),
                                        options_.stride(), options_.padding(), options_.dilation());
  }

  // Threads that take whole samples: each runs im2col, a single-threaded GEMM and col2im on its
  // own samples, so a layer costs one fork and no copy of a batched product, and a sample's
  // columns stay in cache between im2col and the GEMM (on one thread too: measured faster than
  // one product over the whole batch). A clip whose columns exceed the thread's share of the
  // workspace limit is processed in blocks of output time steps (time_block). Returns 0 when
  // the batch is smaller than the team: the batched path below then splits each GEMM instead.
  int sample_team(Index batch) const {
    const int threads = num_threads();
    return batch >= threads ? threads : 0;
  }

  // Output time steps per block of a sample's columns: all of them when a thread's buffers (the
  // columns and their gradient) fit its share of the workspace limit, else as many as fit, at
  // least one.
  Index time_block(const detail::WindowGeometry& g, int team) const {
    const Index per_step = 2 * g.column_rows() * g.out[1] * g.out[2];
    return std::clamp<Index>(workspace_limit_ / (Index(team) * std::max<Index>(1, per_step)), 1,
                             g.out[0]);
  }

  // The thread's contiguous block of samples: the same for a given batch and team, so results
  // are reproducible; forward outputs do not depend on the team at all.
  static std::pair<Index, Index> sample_block(Index batch, int thread, int team) {
    return {batch * thread / team, batch * (thread + 1) / team};
  }

  void ensure_thread_workspaces(int team) {
    if (thread_columns_.size() < std::size_t(team)) {
      thread_columns_.resize(std::size_t(team));
      thread_weight_grads_.resize(std::size_t(team));
    }
  }

  void forward_by_samples(const detail::WindowGeometry& g, int team) {
    ensure_thread_workspaces(team);
    const Index batch = input_.batch(), in_size = g.channels * g.in_size(), out_p = g.out_size();
    const Index cout = out_channels(), rows = g.column_rows();
    const Index plane = g.out[1] * g.out[2], steps = g.out[0], block = time_block(g, team);
    // Every sample's columns are kept for backward when they fit the workspace limit: the
    // weight gradient then reuses them instead of running im2col a second time.
    columns_kept_ = !g.pointwise() && batch * rows * out_p <= workspace_limit_;
    // Sized before the fork: a Workspace may reallocate, which threads must not race on.
    if (columns_kept_) kept_columns_.matrix(batch * rows, out_p);
    for (int t = 0; t < team; ++t)
      if (!g.pointwise() && !columns_kept_)
        thread_columns_[std::size_t(t)].matrix(rows, block * plane);
    parallel_team(team, [&](int thread, int threads) {
      const auto [first, last] = sample_block(batch, thread, threads);
      for (Index n = first; n < last; ++n) {
        auto y = sample_matrix(output_->data(), n, cout, out_p);
        const Scalar* x = input_.data() + n * in_size;
        if (g.pointwise()) {
          gemm(y, gemm_arg(weight_->value),
               gemm_arg(const_sample(input_.data(), n, g.channels, out_p)), Gemm::overwrite);
        } else if (columns_kept_) {
          SampleMap columns(kept_columns_.matrix(batch * rows, out_p).data() + n * rows * out_p,
                            rows, out_p);
          detail::im2col(g, x, columns.data(), out_p);
          gemm(y, gemm_arg(weight_->value), gemm_arg(columns), Gemm::overwrite);
        } else {
          for (Index t0 = 0; t0 < steps; t0 += block) {
            const Index t1 = std::min(steps, t0 + block), width = (t1 - t0) * plane;
            SampleMap columns(thread_columns_[std::size_t(thread)].matrix(rows, width).data(), rows,
                              width);
            detail::im2col(g, x, columns.data(), width, t0, t1);
            gemm(y.middleCols(t0 * plane, width), gemm_arg(weight_->value), gemm_arg(columns),
                 Gemm::overwrite);
          }
        }
        if (options_.bias()) y.colwise() += bias_->value.row(0).transpose();
      }
    });
  }

  // Each thread accumulates dW over its samples into its own buffer; the buffers are then added
  // in thread order (so dW depends on the team by rounding only), and dx is written per sample
  // (a thread owns its samples' input planes, so blocks of one sample never race).
  void backward_by_samples(const detail::WindowGeometry& g, int team, const Output& grad_y,
                           bool params, Input* grad_x) {
    ensure_thread_workspaces(team);
    const Index batch = input_.batch(), in_size = g.channels * g.in_size(), out_p = g.out_size();
    const Index cout = out_channels(), rows = g.column_rows(), taps = fan_in();
    const Index plane = g.out[1] * g.out[2], steps = g.out[0], block = time_block(g, team);
    for (int t = 0; t < team; ++t) {
      if (!g.pointwise()) thread_columns_[std::size_t(t)].matrix(2 * rows, block * plane);
      if (params) thread_weight_grads_[std::size_t(t)].matrix(cout, taps);
    }
    parallel_team(team, [&](int thread, int threads) {
      const auto [first, last] = sample_block(batch, thread, threads);
      auto weight_grad = thread_weight_grads_[std::size_t(thread)].matrix(cout, taps);
      if (params) weight_grad.setZero();
      // The thread's buffer holds a block's columns on top, their gradient below.
      Scalar* buffer =
          g.pointwise()
              ? nullptr
              : thread_columns_[std::size_t(thread)].matrix(2 * rows, block * plane).data();
      for (Index n = first; n < last; ++n) {
        const auto dy = const_sample(grad_y.data(), n, cout, out_p);
        if (g.pointwise()) {
          if (params)
            gemm(weight_grad, gemm_arg(dy),
                 gemm_arg_transposed(const_sample(input_.data(), n, g.channels, out_p)),
                 Gemm::accumulate);
          if (grad_x != nullptr)
            gemm(sample_matrix(grad_x->data(), n, g.channels, out_p),
                 gemm_arg_transposed(weight_->value), gemm_arg(dy), Gemm::accumulate);
          continue;
        }
        if (params && columns_kept_) {
          const ConstSampleMap columns(
              kept_columns_.matrix(batch * rows, out_p).data() + n * rows * out_p, rows, out_p);
          gemm(weight_grad, gemm_arg(dy), gemm_arg_transposed(columns), Gemm::accumulate);
        }
        for (Index t0 = 0; t0 < steps; t0 += block) {
          const Index t1 = std::min(steps, t0 + block), width = (t1 - t0) * plane;
          const auto dy_block = gemm_arg(dy.middleCols(t0 * plane, width));
          if (params && !columns_kept_) {
            SampleMap columns(buffer, rows, width);
            detail::im2col(g, input_.data() + n * in_size, buffer, width, t0, t1);
            gemm(weight_grad, dy_block, gemm_arg_transposed(columns), Gemm::accumulate);
          }
          if (grad_x != nullptr) {
            SampleMap grad_columns(buffer + rows * width, rows, width);
            gemm(grad_columns, gemm_arg_transposed(weight_->value), dy_block, Gemm::overwrite);
            detail::col2im_add(g, grad_columns.data(), width, grad_x->data() + n * in_size, t0, t1);
          }
        }
      }
      if (!params) return;
      if (threads > 1) team_barrier();  // never inside a caller's region (a serial team)
      // Every thread adds all partial gradients, in thread order, over its own columns of dW.
      const Index begin = taps * thread / threads, end = taps * (thread + 1) / threads;
      for (int t = 0; t < threads; ++t)
        weight_->grad.middleCols(begin, end - begin) +=
            thread_weight_grads_[std::size_t(t)].matrix(cout, taps).middleCols(begin, end - begin);
    });
  }

  Index chunk_size(const detail::WindowGeometry& g, Index batch) const {
    const Index per_sample = g.column_rows() * g.out_size();
    return std::max<Index>(
        1, std::min<Index>(batch, workspace_limit_ / std::max<Index>(1, per_sample)));
  }

  // Columns of samples [0, count) of `x` (already offset to the chunk), side by side.
  typename detail::Workspace<Scalar>::MatrixMap fill_columns(const detail::WindowGeometry& g,
                                                             const Scalar* x, Index count) {
    const Index out_p = g.out_size(), in_size = g.channels * g.in_size();
    auto columns = columns_.matrix(g.column_rows(), count * out_p);
    Scalar* data = columns.data();
    const Index ld = columns.cols(), channels = g.channels;
    // One task per (sample, channel): disjoint rows and columns, so threads never share a write.
    parallel_for(0, count * channels, [&](Index task, int) {
      const Index s = task / channels;
      detail::im2col_channel(g, x + s * in_size, task % channels, data + s * out_p, ld);
    });
    return columns;
  }

  template <class GradY>
  void backward_chunk(const detail::WindowGeometry& g, Index n0, Index count, const GradY& dy,
                      bool params, Input* grad_x) {
    const Index out_p = g.out_size(), in_size = g.channels * g.in_size();
    if (params) {
      const auto columns = fill_columns(g, input_.data() + n0 * in_size, count);
      parallel_gemm(weight_->grad, gemm_arg(dy), gemm_arg_transposed(columns), Gemm::accumulate,
                    gemm_scratch_);
    }
    if (grad_x == nullptr) return;
    auto grad_columns = columns_.matrix(g.column_rows(), count * out_p);
    parallel_gemm(grad_columns, gemm_arg_transposed(weight_->value), gemm_arg(dy), Gemm::overwrite,
                  gemm_scratch_);
    const Scalar* data = grad_columns.data();
    const Index ld = grad_columns.cols(), channels = g.channels;
    Scalar* dx = grad_x->data() + n0 * in_size;
    // One task per (sample, channel): each writes only its own input plane.
    parallel_for(0, count * channels, [&](Index task, int) {
      const Index s = task / channels;
      detail::col2im_add_channel(g, data + s * out_p, ld, task % channels, dx + s * in_size);
    });
  }

  ConvOptions<Rank> options_;
  // The layer's parameters and output during the current forward or backward call.
  Parameter<Scalar>* weight_ = nullptr;
  Parameter<Scalar>* bias_ = nullptr;
  Input input_;  // copy of the last forward's x, for dL/dW
  Output* output_ = nullptr;
  detail::Workspace<Scalar>
      columns_;  // im2col of a chunk (or its gradient), [Cin·prod(k), count·P]
  detail::Workspace<Scalar>
      product_;  // W · columns of a chunk (or the gathered dY), [Cout, count·P]
  GemmScratch<Scalar> gemm_scratch_;  // per-thread partial products of a depth-split GEMM
  // The per-sample path's buffers, one per thread: a sample's columns and their gradient, and
  // the thread's partial weight gradient.
  std::vector<detail::Workspace<Scalar>> thread_columns_, thread_weight_grads_;
  // The last forward's columns of every sample, [N·Cin·prod(k), P], when they fit the workspace
  // limit (columns_kept_); backward's weight gradient reads them.
  detail::Workspace<Scalar> kept_columns_;
  bool columns_kept_ = false;
  Index workspace_limit_ = Index(1) << 24;
};

}  // namespace detail

// Written once for both backends: options, parameters and their initialisation, shapes, checks
// and the calling convention here; the arithmetic in detail::ConvEngine<..., Backend> (im2col and
// ccl's GEMM on the CPU, cuDNN on ccl::cuda).
template <class Scalar, int Rank, class Backend = cpu>
class ConvNd {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::ConvNd: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda include "
                "<ccl/cuda/nn/conv.hpp> or <ccl/cuda.hpp>)");
  static_assert(Rank >= 1 && Rank <= 3,
                "ccl::nn::ConvNd: Rank is the number of spatial axes: "
                "1 (Conv1d, [N, C, L]), 2 (Conv2d, [N, C, H, W]) or 3 "
                "(Conv3d, [N, C, T, H, W])");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank + 2, Backend>;
  using Output = Tensor<Scalar, Rank + 2, Backend>;
  static constexpr int spatial_rank = Rank;
  static constexpr int input_rank = Rank + 2;
  static constexpr int output_rank = Rank + 2;
  static constexpr const char* name = detail::conv_name<Rank>();

  /// Zero parameters; initialise with reset_parameters(), by writing weight().value, or (device)
  /// with gpu::copy_from_host.
  explicit ConvNd(const ConvOptions<Rank>& options) : options_(options), engine_(options) {
    detail::check_conv_options(name, options);
    weight_ = Parameter<Scalar, Backend>("weight", options.out_channels(), fan_in());
    if (options.bias())
      bias_ = Parameter<Scalar, Backend>("bias", 1, options.out_channels(), ParameterRole::bias);
  }

  /// PyTorch's default initialisation (init.hpp), weight first, then bias.
  ConvNd(const ConvOptions<Rank>& options, Rng& rng) : ConvNd(options) { reset_parameters(rng); }

  /// Draws on the host with PyTorch's rules (a device layer uploads the draw, so a seed gives the
  /// same weights on both backends).
  void reset_parameters(Rng& rng) {
    RowMatrix<Scalar> weight(out_channels(), fan_in());
    RowMatrix<Scalar> bias(has_bias() ? 1 : 0, has_bias() ? out_channels() : 0);
    init::pytorch_default(weight, bias, fan_in(), rng);
    assign(weight_.value, ccl::view(weight));
    if (has_bias()) assign(bias_.value, ccl::view(bias));
  }

  const ConvOptions<Rank>& options() const { return options_; }
  Index in_channels() const { return options_.in_channels(); }
  Index out_channels() const { return options_.out_channels(); }
  Index fan_in() const { return options_.in_channels() * shape_size(options_.kernel()); }
  bool has_bias() const { return options_.bias(); }

  Parameter<Scalar, Backend>& weight() { return weight_; }
  const Parameter<Scalar, Backend>& weight() const { return weight_; }
  /// The bias parameter ([1, Cout]; [0, 0] when the layer has none).
  Parameter<Scalar, Backend>& bias() { return bias_; }
  const Parameter<Scalar, Backend>& bias() const { return bias_; }

  /// The spatial extents of the output for an input of spatial extents `in` (PyTorch's floor
  /// formula); throws when the dilated kernel is larger than the padded input.
  Shape<Rank> output_spatial(const Shape<Rank>& in) const {
    const auto g =
        detail::make_window_geometry(name, in_channels(), in, options_.kernel(), options_.stride(),
                                     options_.padding(), options_.dilation());
    Shape<Rank> out{};
    for (int i = 0; i < Rank; ++i) out[std::size_t(i)] = g.out[std::size_t(3 - Rank + i)];
    return out;
  }

  /// The full output shape for an input shape [N, Cin, spatial...].
  Shape<Rank + 2> output_shape(const Shape<Rank + 2>& in) const {
    return detail::conv_output_shape(name, options_, in);
  }

  /// Whether forward scans x for NaN/Inf (on by default: one pass on the CPU, cheap next to the
  /// GEMM; one kernel and a stream synchronisation on the device, so turn it off in tuned device
  /// training loops).
  void set_check_finite(bool on) { check_finite_ = on; }

  /// Caps the workspace at about `elements` scalars. CPU: the im2col buffers (default 2^24,
  /// 64 MiB in float): samples (or a sample's output time steps) are processed in blocks that
  /// fit, but always at least one sample (batched path) or one time step (a thread's sample) at
  /// a time. CUDA: cuDNN's workspace (default 2^26, 256 MiB in float), which bounds the
  /// algorithms chosen.
  void set_workspace_limit(Index elements) {
    require(elements > 0, name, "::set_workspace_limit: the limit must be positive, got ",
            elements);
    engine_.set_workspace_limit(elements);
  }

  /// Device: whether only deterministic cuDNN algorithms are chosen when one fits (default true).
  /// The CPU convolution is always deterministic.
  void set_deterministic(bool on) { engine_.set_deterministic(on); }

  /// y = conv(x, W) + b for x of shape [N, Cin, spatial...]. The result lives in the layer and is
  /// overwritten by the next forward; x may be this layer's own output (the engine copies it
  /// first).
  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    tensor_checks::channels(name, "input", x, in_channels());
    engine_.forward(x, weight_, bias_, check_finite_, output_);
    return output_;
  }

  /// The output of the last forward.
  const Output& output() const { return output_; }

  /// Back-propagates grad_y = dL/dy (the shape of the last forward's output):
  ///   grad W += dY colsᵀ,  grad b += Σ dY,  grad_x += col2im(Wᵀ dY)  (if grad_x is given; it
  /// must have the input's shape).
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(engine_.has_input(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x != nullptr)
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                engine_.input_shape());
    const bool params = mode == ParameterGradients::accumulate;
    if (!params && grad_x == nullptr) return;
    engine_.backward(grad_y, grad_x, params, weight_, bias_);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }

  void zero_grad() {
    weight_.zero_grad();
    bias_.zero_grad();
  }

 private:
  ConvOptions<Rank> options_;
  Parameter<Scalar, Backend> weight_;
  Parameter<Scalar, Backend> bias_{"bias", 0, 0, ParameterRole::bias};
  Output output_;  // workspace returned by forward
  detail::ConvEngine<Scalar, Rank, Backend> engine_;
  bool check_finite_ = true;
};

template <class Scalar, class Backend = cpu>
using Conv1d = ConvNd<Scalar, 1, Backend>;
template <class Scalar, class Backend = cpu>
using Conv2d = ConvNd<Scalar, 2, Backend>;
template <class Scalar, class Backend = cpu>
using Conv3d = ConvNd<Scalar, 3, Backend>;

}  // namespace ccl::nn
