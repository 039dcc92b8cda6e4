#pragma once
// BatchNorm<Scalar, SpatialRank>: PyTorch's BatchNorm1d / 2d / 3d over the channel axis of
// [N, C, spatial...] (SpatialRank 0 is BatchNorm1d on an [N, C] batch of features).
//
//   training  y = γ (x − μ_B) / √(σ²_B + ε) + β   with the batch mean μ_B and the *biased* batch
//             variance σ²_B over the N·prod(spatial) values of each channel; the running
//             statistics move by r ← (1 − momentum) r + momentum · s, with the *unbiased*
//             variance for the running variance (PyTorch's semantics, ε = 1e-5, momentum = 0.1).
//   eval      y = γ (x − μ_run) / √(σ²_run + ε) + β.
//
// method.md §3.1: the R(2+1)D student has a BatchNorm after every convolution with PyTorch's
// defaults; §3.3: the image teacher runs in eval mode. Parameters "weight" (γ, init 1) and "bias"
// (β, init 0) are [1, C]; the running statistics are buffers (for_each_buffer), which checkpoints
// save and optimisers never see. PyTorch's num_batches_tracked is not kept: it only matters for
// momentum = None (a cumulative average), which is not offered.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cmath>
#include <string>
#include <type_traits>

namespace ccl::nn {

class BatchNormOptions {
 public:
  explicit BatchNormOptions(Index channels) : channels_(channels) {}

  BatchNormOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  BatchNormOptions& momentum(double value) {
    momentum_ = value;
    return *this;
  }
  /// Whether γ and β are learned (PyTorch's affine); without them γ = 1, β = 0.
  BatchNormOptions& affine(bool value) {
    affine_ = value;
    return *this;
  }

  Index channels() const { return channels_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  bool affine() const { return affine_; }

 private:
  Index channels_;
  double eps_ = 1e-5;
  double momentum_ = 0.1;
  bool affine_ = true;
};

namespace detail {

/// BatchNorm's arithmetic on one backend: the host version here (two-pass statistics in double,
/// one task per channel); the device one (cuDNN) is the specialisation in
/// <ccl/cuda/nn/batch_norm.hpp>. forward() normalises by the batch statistics (training: the
/// running ones move, after every channel was checked finite) or by the running ones; backward()
/// uses what the last forward kept.
template <class Scalar, int SpatialRank, class Backend>
class BatchNormEngine {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::BatchNorm<Scalar, SpatialRank, ccl::cuda> needs "
                "<ccl/cuda/nn/batch_norm.hpp>; include it (or <ccl/cuda.hpp>)");
  using Planes = Tensor<Scalar, SpatialRank + 2>;

 public:
  /// Backend limits on the options (none on the CPU).
  void configure(const char* /*name*/, const BatchNormOptions& /*options*/) {}

  /// The host statistics are always checked (they are on the host anyway): `check_finite` only
  /// lets the device skip a synchronisation.
  void forward(const char* name, const Planes& x, bool training, const BatchNormOptions& options,
               const Parameter<Scalar>& weight, const Parameter<Scalar>& bias,
               RowMatrix<Scalar>& running_mean, RowMatrix<Scalar>& running_var,
               bool /*check_finite*/, Planes& output) {
    const Index batch = x.batch(), c_count = options.channels(), positions = x.spatial_size();
    const Index count = batch * positions;
    normalized_.resize(x.shape());
    inv_std_.resize(c_count);
    mean_.resize(c_count);
    var_.resize(c_count);
    if (training) {
      // Two passes (mean, then squared deviations): no cancellation when |μ| >> σ. Channels are
      // independent, so they are spread over threads.
      parallel_for(0, c_count, [&](Index c, int) {
        double mean = 0, var = 0;
        for (Index n = 0; n < batch; ++n)
          mean += double(plane(x.data(), n, c, c_count, positions).sum());
        mean /= double(count);
        for (Index n = 0; n < batch; ++n)
          var += double(
              (plane(x.data(), n, c, c_count, positions).array() - Scalar(mean)).square().sum());
        mean_[c] = mean;
        var_[c] = var / double(count);
      });
      // Every channel is checked before any running statistic changes: an error leaves the
      // layer as it was.
      for (Index c = 0; c < c_count; ++c) {
        require(std::isfinite(mean_[c]) && std::isfinite(var_[c]), name, ": channel ", c,
                " of the input (shape ", x.shape_string(),
                ") has non-finite statistics: NaN or Inf in the input");
      }
      const double m = options.momentum();
      for (Index c = 0; c < c_count; ++c) {
        running_mean(0, c) = Scalar((1 - m) * double(running_mean(0, c)) + m * mean_[c]);
        running_var(0, c) = Scalar((1 - m) * double(running_var(0, c)) +
                                   m * var_[c] * double(count) / double(count - 1));
      }
    } else {
      mean_ = running_mean.row(0).transpose().template cast<double>();
      var_ = running_var.row(0).transpose().template cast<double>();
    }
    parallel_for(0, c_count, [&](Index c, int) {
      const Scalar inv_std = Scalar(1.0 / std::sqrt(var_[c] + options.eps()));
      inv_std_[c] = inv_std;
      const Scalar mean = Scalar(mean_[c]);
      const Scalar gamma = options.affine() ? weight.value(0, c) : Scalar(1);
      const Scalar beta = options.affine() ? bias.value(0, c) : Scalar(0);
      for (Index n = 0; n < batch; ++n) {
        auto xhat = plane(normalized_.data(), n, c, c_count, positions);
        xhat = (plane(x.data(), n, c, c_count, positions).array() - mean) * inv_std;
        plane(output.data(), n, c, c_count, positions) = xhat.array() * gamma + beta;
      }
    });
  }

  /// grad γ += Σ dy ⊙ x̂ and grad β += Σ dy when `params`; grad_x (when given) +=
  ///   γ/σ · (dy − mean(dy) − x̂ · mean(dy ⊙ x̂))   after a training forward, γ/σ_run · dy after
  ///   an eval one (means over the channel's N·prod(spatial)).
  void backward(const Planes& grad_y, Planes* grad_x, bool params, bool was_training,
                const BatchNormOptions& options, Parameter<Scalar>& weight,
                Parameter<Scalar>& bias) {
    const Index batch = grad_y.batch(), c_count = options.channels(),
                positions = grad_y.spatial_size();
    const double count = double(batch * positions);
    // Channels are independent (each writes its own γ, β and input planes): one task each.
    parallel_for(0, c_count, [&](Index c, int) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (Index n = 0; n < batch; ++n) {
        const auto dy = plane(grad_y.data(), n, c, c_count, positions);
        sum_dy += double(dy.sum());
        sum_dy_xhat += double(dy.dot(plane(normalized_.data(), n, c, c_count, positions)));
      }
      if (params) {
        weight.grad(0, c) += Scalar(sum_dy_xhat);
        bias.grad(0, c) += Scalar(sum_dy);
      }
      if (grad_x == nullptr) return;
      const Scalar gamma = options.affine() ? weight.value(0, c) : Scalar(1);
      const Scalar scale = gamma * inv_std_[c];
      const Scalar mean_dy = was_training ? Scalar(sum_dy / count) : Scalar(0);
      const Scalar mean_dy_xhat = was_training ? Scalar(sum_dy_xhat / count) : Scalar(0);
      for (Index n = 0; n < batch; ++n) {
        plane(grad_x->data(), n, c, c_count, positions).array() +=
            scale * (plane(grad_y.data(), n, c, c_count, positions).array() - mean_dy -
                     plane(normalized_.data(), n, c, c_count, positions).array() * mean_dy_xhat);
      }
    });
  }

 private:
  // The `positions` contiguous values of channel c of sample n.
  static Eigen::Map<Vector<Scalar>> plane(Scalar* data, Index n, Index c, Index channels,
                                          Index positions) {
    return Eigen::Map<Vector<Scalar>>(data + (n * channels + c) * positions, positions);
  }
  static Eigen::Map<const Vector<Scalar>> plane(const Scalar* data, Index n, Index c,
                                                Index channels, Index positions) {
    return Eigen::Map<const Vector<Scalar>>(data + (n * channels + c) * positions, positions);
  }

  Planes normalized_;          // x̂ of the last forward, for backward
  Vector<Scalar> inv_std_;     // 1/√(σ² + ε) per channel of the last forward
  Vector<double> mean_, var_;  // the statistics that normalised the last forward
};

}  // namespace detail

// Written once for both backends: options, parameters, running statistics, modes, checks and the
// calling convention here; the arithmetic in detail::BatchNormEngine<..., Backend> (cuDNN on
// ccl::cuda, <ccl/cuda/nn/batch_norm.hpp>).
template <class Scalar, int SpatialRank, class Backend = cpu>
class BatchNorm {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::BatchNorm: Backend must be ccl::cpu or ccl::cuda (for ccl::cuda include "
                "<ccl/cuda/nn/batch_norm.hpp> or <ccl/cuda.hpp>)");
  static_assert(SpatialRank >= 0 && SpatialRank <= 3,
                "ccl::nn::BatchNorm: SpatialRank is 0 ([N, C]), 1 ([N, C, L]), 2 ([N, C, H, W]) "
                "or 3 ([N, C, T, H, W])");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, SpatialRank + 2, Backend>;
  using Output = Input;
  static constexpr int input_rank = SpatialRank + 2;
  static constexpr int output_rank = SpatialRank + 2;
  static constexpr const char* name = SpatialRank <= 1   ? "BatchNorm1d"
                                      : SpatialRank == 2 ? "BatchNorm2d"
                                                         : "BatchNorm3d";

  explicit BatchNorm(const BatchNormOptions& options) : options_(options) {
    const Index c = options.channels();
    require(c > 0, name, ": the channel count must be positive, got ", c);
    require(std::isfinite(options.eps()) && options.eps() > 0, name, ": eps must be positive, got ",
            options.eps());
    require(options.momentum() >= 0 && options.momentum() <= 1, name,
            ": momentum must be in [0, 1], got ", options.momentum());
    engine_.configure(name, options);
    // γ = 1, β = 0; running mean 0, running variance 1 (PyTorch's initial state). `assign` is a
    // copy on the CPU and an upload on CUDA.
    const RowMatrix<Scalar> ones = RowMatrix<Scalar>::Ones(1, c);
    const RowMatrix<Scalar> zeros = RowMatrix<Scalar>::Zero(1, c);
    if (options.affine()) {
      weight_ = Parameter<Scalar, Backend>("weight", 1, c, ParameterRole::normalization);
      assign(weight_.value, ccl::view(ones), execution_);
      bias_ = Parameter<Scalar, Backend>("bias", 1, c, ParameterRole::normalization);
    }
    assign(running_mean_, ccl::view(zeros), execution_);
    assign(running_var_, ccl::view(ones), execution_);
  }
  explicit BatchNorm(Index channels) : BatchNorm(BatchNormOptions(channels)) {}

  const BatchNormOptions& options() const { return options_; }
  Index channels() const { return options_.channels(); }

  /// Training mode (the default, as in PyTorch) normalises by batch statistics and updates the
  /// running ones; eval mode normalises by the running statistics.
  void set_training(bool on) { training_ = on; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  /// Whether a training forward on the device checks the batch statistics for NaN/Inf (default
  /// true; it costs one stream synchronisation there). The CPU always checks.
  void set_check_finite(bool on) { check_finite_ = on; }

  Parameter<Scalar, Backend>& weight() { return weight_; }
  const Parameter<Scalar, Backend>& weight() const { return weight_; }
  Parameter<Scalar, Backend>& bias() { return bias_; }
  const Parameter<Scalar, Backend>& bias() const { return bias_; }
  /// The running statistics, [1, C] backend matrices (RowMatrix, or gpu::DeviceMatrix on CUDA).
  backend_matrix_t<Scalar, Backend>& running_mean() { return running_mean_; }
  const backend_matrix_t<Scalar, Backend>& running_mean() const { return running_mean_; }
  backend_matrix_t<Scalar, Backend>& running_var() { return running_var_; }
  const backend_matrix_t<Scalar, Backend>& running_var() const { return running_var_; }

  const Output& forward(const Input& x) {
    tensor_checks::non_empty(name, "input", x);
    tensor_checks::channels(name, "input", x, channels());
    const Index count = x.batch() * x.spatial_size();
    if (training_) {
      require(count > 1, name,
              ": expected more than 1 value per channel when training, got input "
              "of shape ",
              x.shape_string());
    }
    output_.resize(x.shape());
    engine_.forward(name, x, training_, options_, weight_, bias_, running_mean_, running_var_,
                    check_finite_, output_);
    forward_was_training_ = training_;
    return output_;
  }

  const Output& output() const { return output_; }

  /// Back-propagates grad_y. In training mode the batch statistics depend on x, so
  ///   dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy ⊙ x̂))   (means over the channel's N·prod(spatial)),
  /// in eval mode dx = γ/σ_run · dy. grad γ += Σ dy ⊙ x̂, grad β += Σ dy.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x != nullptr)
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                output_.shape());
    const bool params = options_.affine() && mode == ParameterGradients::accumulate;
    if (!params && grad_x == nullptr) return;
    engine_.backward(grad_y, grad_x, params, forward_was_training_, options_, weight_, bias_);
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    if (options_.affine()) {
      visit(weight_);
      visit(bias_);
    }
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    if (options_.affine()) {
      visit(weight_);
      visit(bias_);
    }
  }

  /// Visits the non-trainable state: visit(name, matrix&) for "running_mean", "running_var"
  /// ([1, C] each, backend matrices).
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    visit(std::string("running_mean"), running_mean_);
    visit(std::string("running_var"), running_var_);
  }

  void zero_grad() {
    weight_.zero_grad(execution_);
    bias_.zero_grad(execution_);
  }

  /// The engine's kernels and the gradient zeroing run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(engine_, execution);
    rebind_execution(execution_, execution);
  }

 private:
  BatchNormOptions options_;
  Execution<Backend> execution_;
  Parameter<Scalar, Backend> weight_{"weight", 0, 0, ParameterRole::normalization};
  Parameter<Scalar, Backend> bias_{"bias", 0, 0, ParameterRole::normalization};
  backend_matrix_t<Scalar, Backend> running_mean_;
  backend_matrix_t<Scalar, Backend> running_var_;
  Output output_;  // workspace returned by forward
  detail::BatchNormEngine<Scalar, SpatialRank, Backend> engine_;
  bool training_ = true;
  bool forward_was_training_ = true;
  bool check_finite_ = true;
};

/// PyTorch's names. BatchNorm<Scalar, 0> is BatchNorm1d on an [N, C] batch of features.
template <class Scalar, class Backend = cpu>
using BatchNorm1d = BatchNorm<Scalar, 1, Backend>;
template <class Scalar, class Backend = cpu>
using BatchNorm2d = BatchNorm<Scalar, 2, Backend>;
template <class Scalar, class Backend = cpu>
using BatchNorm3d = BatchNorm<Scalar, 3, Backend>;

}  // namespace ccl::nn
