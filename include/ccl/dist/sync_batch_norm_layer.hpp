#pragma once
// dist::SyncBatchNormNd<Scalar, SpatialRank, Comm>: the nn layer of a synchronised BatchNorm over
// the channel axis of [N, C, spatial...] (SpatialRank 0: [N, C], 1: [N, C, L], 2: [N, C, H, W],
// 3: [N, C, T, H, W]), a drop-in replacement for ccl::nn::BatchNorm<Scalar, SpatialRank> in a
// Sequential (conv -> SyncBatchNorm3d -> ReLU ...). Its batch statistics are those of the global
// batch (every rank's N·prod(spatial) values of a channel), so R-rank training normalises exactly
// as 1-rank training on the concatenated batch. PyTorch's semantics, as nn::BatchNorm: biased
// variance to normalise, unbiased for the running variance, ε = 1e-5, momentum = 0.1.
//
// Collectives per training step: forward all-reduces (Σx, count), then Σ(x − μ)² (two passes: no
// cancellation when |μ| >> σ); backward all-reduces Σdy and Σdy·x̂. 2·C + 1, C and 2·C doubles.
// Evaluation mode uses the running statistics and communicates nothing, so ranks may evaluate
// shards of different sizes. Statistics are accumulated in double whatever Scalar is.
//
// A non-finite value on any rank makes the all-reduced statistics non-finite on every rank, so
// the error below is raised by every rank together instead of leaving the others in a collective.
//
// Gradients of γ and β are this rank's sums; dist::average_gradients turns them into the global
// ones under the gradient scale of dist::global_pair_loss (docs/distributed.md). The [N, C]
// matrix form on EmbeddingView is dist::SyncBatchNorm (<ccl/dist/sync_batch_norm.hpp>).

#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>
#include <ccl/nn/batch_norm.hpp>  // BatchNormOptions
#include <ccl/nn/linear.hpp>      // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace ccl::dist {

template <class Scalar, int SpatialRank, class Comm>
class SyncBatchNormNd {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);
  static_assert(SpatialRank >= 0 && SpatialRank <= 3,
                "ccl::dist::SyncBatchNormNd: SpatialRank is 0 ([N, C]), 1 ([N, C, L]), 2 "
                "([N, C, H, W]) or 3 ([N, C, T, H, W]), as ccl::nn::BatchNorm");

 public:
  using scalar_type = Scalar;
  using backend_type = cpu;
  using Input = nn::Tensor<Scalar, SpatialRank + 2>;
  using Output = Input;
  static constexpr int input_rank = SpatialRank + 2;
  static constexpr int output_rank = SpatialRank + 2;
  static constexpr const char* name = SpatialRank <= 1   ? "SyncBatchNorm1d"
                                      : SpatialRank == 2 ? "SyncBatchNorm2d"
                                                         : "SyncBatchNorm3d";

  SyncBatchNormNd(Comm& comm, const nn::BatchNormOptions& options)
      : comm_(&comm), options_(options) {
    const Index c = options.channels();
    require(c > 0, name, ": the channel count must be positive, got ", c);
    require(std::isfinite(options.eps()) && options.eps() > 0, name, ": eps must be positive, got ",
            options.eps());
    require(options.momentum() >= 0 && options.momentum() <= 1, name,
            ": momentum must be in [0, 1], got ", options.momentum());
    if (options.affine()) {
      weight_ = Parameter<Scalar>("weight", 1, c, ParameterRole::normalization);
      weight_.value.setOnes();
      bias_ = Parameter<Scalar>("bias", 1, c, ParameterRole::normalization);
    }
    running_mean_ = RowMatrix<Scalar>::Zero(1, c);
    running_var_ = RowMatrix<Scalar>::Ones(1, c);
  }
  SyncBatchNormNd(Comm& comm, Index channels)
      : SyncBatchNormNd(comm, nn::BatchNormOptions(channels)) {}

  const nn::BatchNormOptions& options() const { return options_; }
  Index channels() const { return options_.channels(); }

  void set_training(bool on) { training_ = on; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  Parameter<Scalar>& weight() { return weight_; }
  const Parameter<Scalar>& weight() const { return weight_; }
  Parameter<Scalar>& bias() { return bias_; }
  const Parameter<Scalar>& bias() const { return bias_; }
  RowMatrix<Scalar>& running_mean() { return running_mean_; }
  const RowMatrix<Scalar>& running_mean() const { return running_mean_; }
  RowMatrix<Scalar>& running_var() { return running_var_; }
  const RowMatrix<Scalar>& running_var() const { return running_var_; }

  const Output& forward(const Input& x) {
    nn::tensor_checks::non_empty(name, "input", x);
    nn::tensor_checks::channels(name, "input", x, channels());
    const Index batch = x.batch(), c_count = channels(), positions = x.spatial_size();
    mean_.assign(std::size_t(c_count), 0.0);
    var_.assign(std::size_t(c_count), 0.0);
    if (training_) {
      // sums = (Σx per channel, this rank's value count): one all-reduce gives the global mean
      // and the global count (shards may differ in size).
      std::vector<double> sums(std::size_t(c_count + 1), 0.0);
      parallel_for(0, c_count, [&](Index c, int) {
        double s = 0;
        for (Index n = 0; n < batch; ++n)
          s += plane(x.data(), n, c, positions).template cast<double>().sum();
        sums[std::size_t(c)] = s;
      });
      sums[std::size_t(c_count)] = double(batch * positions);
      comm_->all_reduce_sum(sums.data(), c_count + 1);
      count_ = sums[std::size_t(c_count)];
      require(count_ > 1, name,
              ": expected more than 1 value per channel in the global batch when training, got ",
              count_, " (this rank's input has shape ", x.shape_string(), ")");
      for (Index c = 0; c < c_count; ++c) mean_[std::size_t(c)] = sums[std::size_t(c)] / count_;
      parallel_for(0, c_count, [&](Index c, int) {
        double s = 0;
        for (Index n = 0; n < batch; ++n)
          s += (plane(x.data(), n, c, positions).template cast<double>().array() -
                mean_[std::size_t(c)])
                   .square()
                   .sum();
        var_[std::size_t(c)] = s;
      });
      comm_->all_reduce_sum(var_.data(), c_count);
      for (Index c = 0; c < c_count; ++c) {
        var_[std::size_t(c)] /= count_;
        // Identical on every rank (the statistics are), so every rank raises it together.
        require(std::isfinite(mean_[std::size_t(c)]) && std::isfinite(var_[std::size_t(c)]), name,
                ": channel ", c,
                " has non-finite global statistics: NaN or Inf in some rank's input");
      }
      const double m = options_.momentum();
      for (Index c = 0; c < c_count; ++c) {
        running_mean_(0, c) =
            Scalar((1 - m) * double(running_mean_(0, c)) + m * mean_[std::size_t(c)]);
        running_var_(0, c) = Scalar((1 - m) * double(running_var_(0, c)) +
                                    m * var_[std::size_t(c)] * count_ / (count_ - 1));
      }
    } else {
      for (Index c = 0; c < c_count; ++c) {
        mean_[std::size_t(c)] = double(running_mean_(0, c));
        var_[std::size_t(c)] = double(running_var_(0, c));
      }
    }
    normalized_.resize(x.shape());
    output_.resize(x.shape());
    inv_std_.assign(std::size_t(c_count), 0.0);
    parallel_for(0, c_count, [&](Index c, int) {
      const double inv_std = 1.0 / std::sqrt(var_[std::size_t(c)] + options_.eps());
      inv_std_[std::size_t(c)] = inv_std;
      const double mean = mean_[std::size_t(c)];
      const Scalar gamma = options_.affine() ? weight_.value(0, c) : Scalar(1);
      const Scalar beta = options_.affine() ? bias_.value(0, c) : Scalar(0);
      for (Index n = 0; n < batch; ++n) {
        auto xhat = plane(normalized_.data(), n, c, positions);
        xhat = ((plane(x.data(), n, c, positions).template cast<double>().array() - mean) * inv_std)
                   .template cast<Scalar>()
                   .matrix();
        plane(output_.data(), n, c, positions) = (xhat.array() * gamma + beta).matrix();
      }
    });
    forward_was_training_ = training_;
    return output_;
  }

  const Output& output() const { return output_; }

  /// dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy ⊙ x̂)) with the means over the global batch (one
  /// all-reduce of 2·C values), added into grad_x; eval mode dx = γ/σ_run · dy, no collective.
  /// grad γ += Σ dy ⊙ x̂, grad β += Σ dy over this rank's values.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                nn::ParameterGradients mode = nn::ParameterGradients::accumulate) {
    require(!normalized_.empty(), name, "::backward: called before forward");
    nn::tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output",
                                  normalized_.shape());
    if (grad_x != nullptr)
      nn::tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                    normalized_.shape());
    const Index batch = grad_y.batch(), c_count = channels(), positions = grad_y.spatial_size();
    std::vector<double> sums(std::size_t(2 * c_count), 0.0);  // Σdy, then Σdy·x̂
    parallel_for(0, c_count, [&](Index c, int) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (Index n = 0; n < batch; ++n) {
        const auto dy = plane(grad_y.data(), n, c, positions).template cast<double>();
        sum_dy += dy.sum();
        sum_dy_xhat += dy.dot(plane(normalized_.data(), n, c, positions).template cast<double>());
      }
      sums[std::size_t(c)] = sum_dy;
      sums[std::size_t(c_count + c)] = sum_dy_xhat;
      if (options_.affine() && mode == nn::ParameterGradients::accumulate) {
        weight_.grad(0, c) += Scalar(sum_dy_xhat);
        bias_.grad(0, c) += Scalar(sum_dy);
      }
    });
    // Every rank takes part in the all-reduce even without grad_x: the collective must match.
    if (forward_was_training_) comm_->all_reduce_sum(sums.data(), 2 * c_count);
    if (grad_x == nullptr) return;
    parallel_for(0, c_count, [&](Index c, int) {
      const double gamma = options_.affine() ? double(weight_.value(0, c)) : 1.0;
      const double scale = gamma * inv_std_[std::size_t(c)];
      const double mean_dy = forward_was_training_ ? sums[std::size_t(c)] / count_ : 0.0;
      const double mean_dy_xhat =
          forward_was_training_ ? sums[std::size_t(c_count + c)] / count_ : 0.0;
      for (Index n = 0; n < batch; ++n) {
        plane(grad_x->data(), n, c, positions).array() +=
            (scale *
             (plane(grad_y.data(), n, c, positions).template cast<double>().array() - mean_dy -
              plane(normalized_.data(), n, c, positions).template cast<double>().array() *
                  mean_dy_xhat))
                .template cast<Scalar>();
      }
    });
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

  /// The running statistics, identical on every rank (they come from global statistics), so
  /// rank 0's checkpoint holds everyone's.
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    visit(std::string("running_mean"), running_mean_);
    visit(std::string("running_var"), running_var_);
  }

  void zero_grad() {
    weight_.zero_grad();
    bias_.zero_grad();
  }

 private:
  Eigen::Map<Vector<Scalar>> plane(Scalar* data, Index n, Index c, Index positions) const {
    return Eigen::Map<Vector<Scalar>>(data + (n * channels() + c) * positions, positions);
  }
  Eigen::Map<const Vector<Scalar>> plane(const Scalar* data, Index n, Index c,
                                         Index positions) const {
    return Eigen::Map<const Vector<Scalar>>(data + (n * channels() + c) * positions, positions);
  }

  Comm* comm_;
  nn::BatchNormOptions options_;
  Parameter<Scalar> weight_{"weight", 0, 0, ParameterRole::normalization};
  Parameter<Scalar> bias_{"bias", 0, 0, ParameterRole::normalization};
  RowMatrix<Scalar> running_mean_, running_var_;
  Input normalized_;  // x̂ of the last forward
  Output output_;
  std::vector<double> inv_std_, mean_, var_;
  double count_ = 0;  // values per channel in the last training forward's global batch
  bool training_ = true;
  bool forward_was_training_ = true;
};

/// PyTorch's SyncBatchNorm on the ranks ccl's BatchNorm supports.
template <class Scalar, class Comm>
using SyncBatchNorm1d = SyncBatchNormNd<Scalar, 1, Comm>;
template <class Scalar, class Comm>
using SyncBatchNorm2d = SyncBatchNormNd<Scalar, 2, Comm>;
template <class Scalar, class Comm>
using SyncBatchNorm3d = SyncBatchNormNd<Scalar, 3, Comm>;

}  // namespace ccl::dist
