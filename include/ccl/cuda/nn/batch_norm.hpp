#pragma once
// BatchNorm<Scalar, SpatialRank, ccl::cuda>: the device counterpart of nn::BatchNorm
// (ccl/nn/batch_norm.hpp), PyTorch's BatchNorm1d/2d/3d on [N, C, spatial...] ([N, C] for
// SpatialRank 0), with the CPU layer's options, checks, messages, names and semantics:
//
//   training  cudnnBatchNormalizationForwardTraining (CUDNN_BATCHNORM_SPATIAL): batch mean and
//             biased variance normalise; the running statistics move by
//             r <- (1 - momentum) r + momentum s with cuDNN's exponentialAverageFactor = momentum,
//             and cuDNN folds the *unbiased* batch variance into the running variance, which is
//             PyTorch's rule (and why PyTorch's cuDNN path needs no correction).
//   eval      cudnnBatchNormalizationForwardInference with the running statistics.
//   backward  training: cudnnBatchNormalizationBackward from the saved mean and inverse standard
//             deviation; eval: ccl's kernel (cuDNN has none for constant statistics).
//
// The running statistics are device buffers (gpu::DeviceMatrix [1, C]) visited by
// for_each_buffer as "running_mean" and "running_var", like the CPU layer's RowMatrix buffers.
// Non-finite batch statistics raise the CPU layer's error and leave the running statistics as
// they were (they are restored from a copy taken before the cuDNN call); that check reads 2·C
// values back, one stream synchronisation per training forward (set_check_finite(false) skips it).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/cudnn.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/batch_norm.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace ccl::gpu::detail {

/// cuDNN's [N, C, ...] dimensions of a BatchNorm input: [N, C] and [N, C, L] are padded with unit
/// axes to 4D (spatial mode averages over all of them), [N, C, T, H, W] stays 5D.
template <int SpatialRank, std::size_t Rank>
auto batch_norm_dims(const char* op, const std::array<Index, Rank>& shape) {
  constexpr std::size_t dims = SpatialRank == 3 ? 5 : 4;
  std::array<int, dims> d{};
  d.fill(1);
  for (std::size_t i = 0; i < Rank; ++i) d[i] = cudnn_dim(shape[i], op);
  return d;
}

}  // namespace ccl::gpu::detail

namespace ccl::nn {

template <class Scalar, int SpatialRank>
class BatchNorm<Scalar, SpatialRank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(SpatialRank >= 0 && SpatialRank <= 3,
                "ccl::nn::BatchNorm: SpatialRank is 0 ([N, C]), 1 ([N, C, L]), 2 ([N, C, H, W]) "
                "or 3 ([N, C, T, H, W])");

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, SpatialRank + 2, cuda>;
  using Output = Input;
  static constexpr int input_rank = SpatialRank + 2;
  static constexpr int output_rank = SpatialRank + 2;
  static constexpr const char* name = BatchNorm<Scalar, SpatialRank, cpu>::name;

  explicit BatchNorm(const BatchNormOptions& options) : options_(options) {
    const Index c = options.channels();
    require(c > 0, name, ": the channel count must be positive, got ", c);
    require(std::isfinite(options.eps()) && options.eps() > 0, name, ": eps must be positive, got ",
            options.eps());
    require(options.momentum() >= 0 && options.momentum() <= 1, name,
            ": momentum must be in [0, 1], got ", options.momentum());
    require(options.eps() >= CUDNN_BN_MIN_EPSILON, name, ": eps ", options.eps(),
            " is below cuDNN's minimum ", CUDNN_BN_MIN_EPSILON);
    const cudaStream_t stream = gpu::settings().stream;
    // γ = 1 and β = 0 (also the constants cuDNN is given when the layer is not affine).
    const RowMatrix<Scalar> ones = RowMatrix<Scalar>::Ones(1, c);
    if (options.affine()) {
      weight_ = Parameter<Scalar, cuda>("weight", 1, c, ParameterRole::normalization);
      bias_ = Parameter<Scalar, cuda>("bias", 1, c, ParameterRole::normalization);
      gpu::copy<Scalar>(ccl::view(ones), weight_.value.mutable_view(), stream);
    } else {
      constant_gamma_.resize(1, c);
      constant_beta_.resize(1, c);
      constant_beta_.zero(stream);
      gpu::copy<Scalar>(ccl::view(ones), constant_gamma_.mutable_view(), stream);
    }
    running_mean_.resize(1, c);
    running_mean_.zero(stream);
    running_var_.resize(1, c);
    gpu::copy<Scalar>(ccl::view(ones), running_var_.mutable_view(), stream);
    // Pageable host source: the copies above return once `ones` may be freed.
  }
  explicit BatchNorm(Index channels) : BatchNorm(BatchNormOptions(channels)) {}

  const BatchNormOptions& options() const { return options_; }
  Index channels() const { return options_.channels(); }

  void set_training(bool on) { training_ = on; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  /// Whether a training forward checks the batch statistics for NaN/Inf (default true, as the
  /// CPU layer always does; costs one stream synchronisation).
  void set_check_finite(bool on) { check_finite_ = on; }

  Parameter<Scalar, cuda>& weight() { return weight_; }
  const Parameter<Scalar, cuda>& weight() const { return weight_; }
  Parameter<Scalar, cuda>& bias() { return bias_; }
  const Parameter<Scalar, cuda>& bias() const { return bias_; }
  gpu::DeviceMatrix<Scalar>& running_mean() { return running_mean_; }
  const gpu::DeviceMatrix<Scalar>& running_mean() const { return running_mean_; }
  gpu::DeviceMatrix<Scalar>& running_var() { return running_var_; }
  const gpu::DeviceMatrix<Scalar>& running_var() const { return running_var_; }

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
    const cudaStream_t stream = gpu::settings().stream;
    const int c = int(channels());
    gpu::copy(x, input_, stream);  // backward needs x; x may also be this layer's output
    output_.resize(x.shape());
    describe(x.shape());
    saved_.resize(std::size_t(2 * c));
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    if (training_) {
      if (check_finite_) {
        backup_.resize(std::size_t(2 * c));
        copy_device(running_mean_.data(), backup_.data(), c, stream);
        copy_device(running_var_.data(), backup_.data() + c, c, stream);
      }
      CCL_CUDA_CHECK(cudnnBatchNormalizationForwardTraining(
          handle, CUDNN_BATCHNORM_SPATIAL, &f.one, &f.zero, x_desc_.get(), input_.data(),
          x_desc_.get(), output_.data(), bn_desc_.get(), gamma(), beta(), options_.momentum(),
          running_mean_.data(), running_var_.data(), options_.eps(), saved_.data(),
          saved_.data() + c));
      if (check_finite_) check_statistics(x.shape_string(), c, stream);
    } else {
      CCL_CUDA_CHECK(cudnnBatchNormalizationForwardInference(
          handle, CUDNN_BATCHNORM_SPATIAL, &f.one, &f.zero, x_desc_.get(), input_.data(),
          x_desc_.get(), output_.data(), bn_desc_.get(), gamma(), beta(), running_mean_.data(),
          running_var_.data(), options_.eps()));
      gpu::nn_kernels::batch_norm_eval_stats_kernel<Scalar>
          <<<(c + 255) / 256, 256, 0, stream>>>(running_mean_.data(), running_var_.data(),
                                                 options_.eps(), c, saved_.data());
      CCL_CUDA_CHECK_LAUNCH("batch_norm_eval_stats_kernel");
    }
    forward_was_training_ = training_;
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(!input_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output",
                              input_.shape());
    if (grad_x != nullptr)
      tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input",
                                input_.shape());
    const bool params = options_.affine() && mode == ParameterGradients::accumulate;
    if (!params && grad_x == nullptr) return;
    const cudaStream_t stream = gpu::settings().stream;
    const int c = int(channels());
    if (!forward_was_training_) {
      gpu::nn_kernels::batch_norm_eval_backward_kernel<Scalar><<<c, 256, 0, stream>>>(
          input_.data(), grad_y.data(), saved_.data(), gamma(), input_.batch(), c,
          input_.spatial_size(), grad_x != nullptr ? grad_x->data() : nullptr,
          params ? weight_.grad.data() : nullptr, params ? bias_.grad.data() : nullptr);
      CCL_CUDA_CHECK_LAUNCH("batch_norm_eval_backward_kernel");
      return;
    }
    // cuDNN always writes dx, dγ and dβ: what the caller did not ask for lands in scratch.
    Scalar* dx = grad_x != nullptr ? grad_x->data() : scratch_dx(input_.size());
    Scalar* dgamma = params ? weight_.grad.data() : scratch_params(c);
    Scalar* dbeta = params ? bias_.grad.data() : scratch_params(c) + c;
    const gpu::CudnnFactors<Scalar> f;
    const Scalar* data_beta = grad_x != nullptr ? &f.one : &f.zero;
    const Scalar* param_beta = params ? &f.one : &f.zero;
    CCL_CUDA_CHECK(cudnnBatchNormalizationBackward(
        gpu::cudnn_context().handle(stream), CUDNN_BATCHNORM_SPATIAL, &f.one, data_beta, &f.one,
        param_beta, x_desc_.get(), input_.data(), x_desc_.get(), grad_y.data(), x_desc_.get(), dx,
        bn_desc_.get(), gamma(), dgamma, dbeta, options_.eps(), saved_.data(),
        saved_.data() + c));
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

  /// Visits the non-trainable state: visit(name, gpu::DeviceMatrix&) for "running_mean",
  /// "running_var" ([1, C] each).
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
  const Scalar* gamma() const {
    return options_.affine() ? weight_.value.data() : constant_gamma_.data();
  }
  const Scalar* beta() const {
    return options_.affine() ? bias_.value.data() : constant_beta_.data();
  }

  void describe(const Shape<SpatialRank + 2>& shape) {
    if (shape == described_) return;
    x_desc_.set(gpu::cudnn_data_type<Scalar>(),
                gpu::detail::batch_norm_dims<SpatialRank>(name, shape));
    CCL_CUDA_CHECK(
        cudnnDeriveBNTensorDescriptor(bn_desc_.get(), x_desc_.get(), CUDNN_BATCHNORM_SPATIAL));
    described_ = shape;
  }

  static void copy_device(const Scalar* from, Scalar* to, int count, cudaStream_t stream) {
    CCL_CUDA_CHECK(cudaMemcpyAsync(to, from, sizeof(Scalar) * std::size_t(count),
                                   cudaMemcpyDeviceToDevice, stream));
  }

  // After a training forward: a NaN/Inf batch mean or inverse std restores the running
  // statistics and throws the CPU layer's message.
  void check_statistics(const std::string& shape, int c, cudaStream_t stream) {
    const long long bad =
        tensor_checks::first_non_finite(saved_.data(), 2LL * c, finite_scratch_, stream);
    if (bad < 0) return;
    copy_device(backup_.data(), running_mean_.data(), c, stream);
    copy_device(backup_.data() + c, running_var_.data(), c, stream);
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
    throw error(ccl::detail::concat(name, ": channel ", bad % c, " of the input (shape ", shape,
                                    ") has non-finite statistics: NaN or Inf in the input"));
  }

  Scalar* scratch_dx(Index size) {
    scratch_dx_.resize(std::size_t(size));
    return scratch_dx_.data();
  }
  Scalar* scratch_params(int c) {
    scratch_params_.resize(std::size_t(2 * c));
    return scratch_params_.data();
  }

  BatchNormOptions options_;
  Parameter<Scalar, cuda> weight_{"weight", 0, 0, ParameterRole::normalization};
  Parameter<Scalar, cuda> bias_{"bias", 0, 0, ParameterRole::normalization};
  gpu::DeviceMatrix<Scalar> constant_gamma_, constant_beta_;  // γ = 1, β = 0 when not affine
  gpu::DeviceMatrix<Scalar> running_mean_, running_var_;
  Input input_;    // device copy of the last forward's x (cuDNN's backward needs x, not x̂)
  Output output_;  // workspace returned by forward
  gpu::DeviceBuffer<Scalar> saved_;   // [μ | 1/σ] that normalised the last forward
  gpu::DeviceBuffer<Scalar> backup_;  // running statistics before the last training forward
  gpu::DeviceBuffer<Scalar> scratch_dx_, scratch_params_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
  gpu::TensorDescriptor x_desc_, bn_desc_;
  Shape<SpatialRank + 2> described_{};
  bool training_ = true;
  bool forward_was_training_ = true;
  bool check_finite_ = true;
};

}  // namespace ccl::nn
