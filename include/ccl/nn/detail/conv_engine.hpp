#pragma once
// detail::ConvEngine<Scalar, Rank, ccl::cpu>: the host arithmetic of ConvNd (nn/conv.hpp), im2col
// (detail/im2col.hpp) followed by a GEMM per sample.
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
#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/conv_options.hpp>
#include <ccl/nn/detail/im2col.hpp>
#include <ccl/nn/detail/workspace.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::nn::detail {

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
  void backward(const Output& grad_y, Input* grad_x, bool params, Parameter<Scalar>& layer_weight,
                Parameter<Scalar>& layer_bias) {
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

}  // namespace ccl::nn::detail
