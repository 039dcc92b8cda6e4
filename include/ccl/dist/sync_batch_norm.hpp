#pragma once
// dist::SyncBatchNorm: batch normalisation of [N, C] features whose batch statistics are those of
// the global batch (every rank's rows), so R-rank training normalises exactly as 1-rank training
// on the concatenated batch. PyTorch's semantics (biased variance to normalise, unbiased for the
// running variance, ε = 1e-5, momentum = 0.1), as ccl::nn::BatchNorm.
//
// Collectives per training step: forward all-reduces Σx, then Σ(x − μ)² (two passes: no
// cancellation when |μ| >> σ), backward all-reduces Σdy and Σdy·x̂; 2·C values each. Evaluation
// mode uses the running statistics and communicates nothing. The running statistics are updated
// from global statistics, so they are identical on every rank (rank 0 may checkpoint them).
//
// Parameter gradients (γ, β) are this rank's sums; dist::average_gradients then turns them into
// the global ones, with the gradient scale of dist::global_pair_loss (docs/distributed.md).

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace ccl::dist {

template <class Scalar, class Comm>
class SyncBatchNorm {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);

 public:
  SyncBatchNorm(Comm& comm, Index channels, double eps = 1e-5, double momentum = 0.1)
      : comm_(&comm),
        gamma_("weight", 1, channels, ParameterRole::normalization),
        beta_("bias", 1, channels, ParameterRole::normalization),
        eps_(eps),
        momentum_(momentum) {
    require(channels > 0, "dist::SyncBatchNorm: channels must be positive, got ", channels);
    require(eps > 0 && momentum >= 0 && momentum <= 1,
            "dist::SyncBatchNorm: need eps > 0 and momentum in [0, 1]");
    gamma_.value.setOnes();
    running_mean_ = RowMatrix<Scalar>::Zero(1, channels);
    running_var_ = RowMatrix<Scalar>::Ones(1, channels);
  }

  void train(bool on = true) { training_ = on; }
  Parameter<Scalar>& weight() { return gamma_; }
  Parameter<Scalar>& bias() { return beta_; }
  const RowMatrix<Scalar>& running_mean() const { return running_mean_; }
  const RowMatrix<Scalar>& running_var() const { return running_var_; }

  template <class Visit>
  void for_each_parameter(Visit&& visit) {
    visit(gamma_);
    visit(beta_);
  }

  /// The running statistics, for checkpoints (ccl::io::Checkpoint::add_module saves them).
  template <class Visit>
  void for_each_buffer(Visit&& visit) {
    visit(std::string("running_mean"), running_mean_);
    visit(std::string("running_var"), running_var_);
  }

  const RowMatrix<Scalar>& forward(EmbeddingView<const Scalar> x) {
    const Index c = gamma_.value.cols();
    require(x.cols() == c, "dist::SyncBatchNorm: input has ", x.cols(), " channels, expected ", c);
    require(x.matrix().allFinite(), "dist::SyncBatchNorm: non-finite input");
    std::vector<double> mean(std::size_t(c), 0.0), var(std::size_t(c), 0.0);
    if (training_) {
      std::vector<double> sums(std::size_t(c + 1), 0.0);  // the last value counts the rows
      for (Index j = 0; j < c; ++j) sums[std::size_t(j)] = double(x.matrix().col(j).sum());
      sums[std::size_t(c)] = double(x.rows());
      comm_->all_reduce_sum(sums.data(), c + 1);
      count_ = sums[std::size_t(c)];
      require(count_ > 1,
              "dist::SyncBatchNorm: training needs more than one row in the global "
              "batch, got ",
              count_);
      for (Index j = 0; j < c; ++j) mean[std::size_t(j)] = sums[std::size_t(j)] / count_;
      for (Index j = 0; j < c; ++j)
        var[std::size_t(j)] =
            (x.matrix().col(j).array().template cast<double>() - mean[std::size_t(j)])
                .square()
                .sum();
      comm_->all_reduce_sum(var.data(), c);
      for (Index j = 0; j < c; ++j) {
        var[std::size_t(j)] /= count_;
        running_mean_(0, j) = Scalar((1 - momentum_) * double(running_mean_(0, j)) +
                                     momentum_ * mean[std::size_t(j)]);
        running_var_(0, j) = Scalar((1 - momentum_) * double(running_var_(0, j)) +
                                    momentum_ * var[std::size_t(j)] * count_ / (count_ - 1));
      }
    } else {
      for (Index j = 0; j < c; ++j) {
        mean[std::size_t(j)] = double(running_mean_(0, j));
        var[std::size_t(j)] = double(running_var_(0, j));
      }
    }
    forward_was_training_ = training_;
    inv_std_.resize(std::size_t(c));
    normalized_.resize(x.rows(), c);
    output_.resize(x.rows(), c);
    for (Index j = 0; j < c; ++j) {
      inv_std_[std::size_t(j)] = 1.0 / std::sqrt(var[std::size_t(j)] + eps_);
      normalized_.col(j) =
          ((x.matrix().col(j).array().template cast<double>() - mean[std::size_t(j)]) *
           inv_std_[std::size_t(j)])
              .template cast<Scalar>();
      output_.col(j) = gamma_.value(0, j) * normalized_.col(j).array() + beta_.value(0, j);
    }
    return output_;
  }

  /// Adds dL/dγ, dL/dβ (this rank's rows) into the parameters' gradients and returns dL/dx.
  RowMatrix<Scalar> backward(EmbeddingView<const Scalar> grad_y) {
    require(grad_y.rows() == normalized_.rows() && grad_y.cols() == normalized_.cols(),
            "dist::SyncBatchNorm::backward: grad_y has shape [", grad_y.rows(), ", ", grad_y.cols(),
            "], the last forward's output [", normalized_.rows(), ", ", normalized_.cols(), "]");
    const Index c = normalized_.cols();
    std::vector<double> sums(std::size_t(2 * c), 0.0);
    for (Index j = 0; j < c; ++j) {
      const auto dy = grad_y.matrix().col(j).array().template cast<double>();
      sums[std::size_t(j)] = dy.sum();
      sums[std::size_t(c + j)] = (dy * normalized_.col(j).array().template cast<double>()).sum();
      beta_.grad(0, j) += Scalar(sums[std::size_t(j)]);
      gamma_.grad(0, j) += Scalar(sums[std::size_t(c + j)]);
    }
    RowMatrix<Scalar> grad_x(grad_y.rows(), c);
    if (forward_was_training_) comm_->all_reduce_sum(sums.data(), 2 * c);
    for (Index j = 0; j < c; ++j) {
      const double mean_dy = forward_was_training_ ? sums[std::size_t(j)] / count_ : 0.0;
      const double mean_dy_xhat = forward_was_training_ ? sums[std::size_t(c + j)] / count_ : 0.0;
      const double scale = double(gamma_.value(0, j)) * inv_std_[std::size_t(j)];
      grad_x.col(j) = (scale * (grad_y.matrix().col(j).array().template cast<double>() - mean_dy -
                                normalized_.col(j).array().template cast<double>() * mean_dy_xhat))
                          .template cast<Scalar>();
    }
    return grad_x;
  }

 private:
  Comm* comm_;
  Parameter<Scalar> gamma_, beta_;
  double eps_, momentum_;
  bool training_ = true, forward_was_training_ = true;
  double count_ = 0;
  RowMatrix<Scalar> running_mean_, running_var_, normalized_, output_;
  std::vector<double> inv_std_;
};

}  // namespace ccl::dist
