#pragma once
// BatchNorm<Scalar, SpatialRank, ccl::cuda>: nn::BatchNorm (ccl/nn/batch_norm.hpp, written once
// for both backends: options, checks, messages, names) on the device. This header is its device
// engine, detail::BatchNormEngine<Scalar, SpatialRank, ccl::cuda>:
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
// The running statistics are device matrices (backend_matrix_t: gpu::DeviceMatrix [1, C]),
// visited by for_each_buffer as "running_mean" and "running_var". Non-finite batch statistics raise
// the CPU layer's error and leave the running statistics as they were (they are restored from a
// copy taken before the cuDNN call); that check reads 2·C values back, one stream synchronisation
// per training forward (set_check_finite(false) skips it).

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/cudnn.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/batch_norm.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/parameter.hpp>
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

namespace ccl::nn::detail {

template <class Scalar, int SpatialRank>
class BatchNormEngine<Scalar, SpatialRank, cuda> {
  using Planes = Tensor<Scalar, SpatialRank + 2, cuda>;

 public:
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  /// cuDNN's minimum eps, and γ = 1, β = 0 as device constants when the layer is not affine
  /// (cuDNN always reads a scale and a shift).
  void configure(const char* name, const BatchNormOptions& options) {
    require(options.eps() >= CUDNN_BN_MIN_EPSILON, name, ": eps ", options.eps(),
            " is below cuDNN's minimum ", CUDNN_BN_MIN_EPSILON);
    if (options.affine()) return;
    const Index c = options.channels();
    const RowMatrix<Scalar> ones = RowMatrix<Scalar>::Ones(1, c);
    constant_gamma_.resize(1, c);
    constant_beta_.resize(1, c);
    constant_beta_.zero(execution_.stream);
    // Pageable host source: the copy returns once `ones` may be freed.
    gpu::copy<Scalar>(ccl::view(ones), constant_gamma_.mutable_view(), execution_.stream);
  }

  void forward(const char* name, const Planes& x, bool training, const BatchNormOptions& options,
               const Parameter<Scalar, cuda>& weight, const Parameter<Scalar, cuda>& bias,
               gpu::DeviceMatrix<Scalar>& running_mean, gpu::DeviceMatrix<Scalar>& running_var,
               bool check_finite, Planes& output) {
    const cudaStream_t stream = execution_.stream;
    const int c = int(options.channels());
    gpu::copy(x, input_, stream);  // backward needs x; x may also be this layer's output
    describe(name, x.shape());
    saved_.resize(std::size_t(2 * c));
    const Scalar* gamma = options.affine() ? weight.value.data() : constant_gamma_.data();
    const Scalar* beta = options.affine() ? bias.value.data() : constant_beta_.data();
    const gpu::CudnnFactors<Scalar> f;
    cudnnHandle_t handle = gpu::cudnn_context().handle(stream);
    if (training) {
      if (check_finite) {
        backup_.resize(std::size_t(2 * c));
        copy_device(running_mean.data(), backup_.data(), c, stream);
        copy_device(running_var.data(), backup_.data() + c, c, stream);
      }
      CCL_CUDA_CHECK(cudnnBatchNormalizationForwardTraining(
          handle, CUDNN_BATCHNORM_SPATIAL, &f.one, &f.zero, x_desc_.get(), input_.data(),
          x_desc_.get(), output.data(), bn_desc_.get(), gamma, beta, options.momentum(),
          running_mean.data(), running_var.data(), options.eps(), saved_.data(),
          saved_.data() + c));
      if (check_finite) check_statistics(name, x.shape_string(), c, running_mean, running_var);
    } else {
      CCL_CUDA_CHECK(cudnnBatchNormalizationForwardInference(
          handle, CUDNN_BATCHNORM_SPATIAL, &f.one, &f.zero, x_desc_.get(), input_.data(),
          x_desc_.get(), output.data(), bn_desc_.get(), gamma, beta, running_mean.data(),
          running_var.data(), options.eps()));
      gpu::nn_kernels::batch_norm_eval_stats_kernel<Scalar><<<(c + 255) / 256, 256, 0, stream>>>(
          running_mean.data(), running_var.data(), options.eps(), c, saved_.data());
      CCL_CUDA_CHECK_LAUNCH("batch_norm_eval_stats_kernel");
    }
  }

  void backward(const Planes& grad_y, Planes* grad_x, bool params, bool was_training,
                const BatchNormOptions& options, Parameter<Scalar, cuda>& weight,
                Parameter<Scalar, cuda>& bias) {
    const cudaStream_t stream = execution_.stream;
    const int c = int(options.channels());
    const Scalar* gamma = options.affine() ? weight.value.data() : constant_gamma_.data();
    if (!was_training) {
      gpu::nn_kernels::batch_norm_eval_backward_kernel<Scalar><<<c, 256, 0, stream>>>(
          input_.data(), grad_y.data(), saved_.data(), gamma, input_.batch(), c,
          input_.spatial_size(), grad_x != nullptr ? grad_x->data() : nullptr,
          params ? weight.grad.data() : nullptr, params ? bias.grad.data() : nullptr);
      CCL_CUDA_CHECK_LAUNCH("batch_norm_eval_backward_kernel");
      return;
    }
    // cuDNN always writes dx, dγ and dβ: what the caller did not ask for lands in scratch.
    Scalar* dx = grad_x != nullptr ? grad_x->data() : scratch(scratch_dx_, input_.size());
    Scalar* dgamma = params ? weight.grad.data() : scratch(scratch_params_, 2 * c);
    Scalar* dbeta = params ? bias.grad.data() : scratch(scratch_params_, 2 * c) + c;
    const gpu::CudnnFactors<Scalar> f;
    const Scalar* data_beta = grad_x != nullptr ? &f.one : &f.zero;
    const Scalar* param_beta = params ? &f.one : &f.zero;
    CCL_CUDA_CHECK(cudnnBatchNormalizationBackward(
        gpu::cudnn_context().handle(stream), CUDNN_BATCHNORM_SPATIAL, &f.one, data_beta, &f.one,
        param_beta, x_desc_.get(), input_.data(), x_desc_.get(), grad_y.data(), x_desc_.get(), dx,
        bn_desc_.get(), gamma, dgamma, dbeta, options.eps(), saved_.data(), saved_.data() + c));
  }

 private:
  void describe(const char* name, const Shape<SpatialRank + 2>& shape) {
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
  void check_statistics(const char* name, const std::string& shape, int c,
                        gpu::DeviceMatrix<Scalar>& running_mean,
                        gpu::DeviceMatrix<Scalar>& running_var) {
    const cudaStream_t stream = execution_.stream;
    const long long bad =
        tensor_checks::first_non_finite(saved_.data(), 2LL * c, finite_scratch_, stream);
    if (bad < 0) return;
    copy_device(backup_.data(), running_mean.data(), c, stream);
    copy_device(backup_.data() + c, running_var.data(), c, stream);
    CCL_CUDA_CHECK(cudaStreamSynchronize(stream));
    throw error(ccl::detail::concat(name, ": channel ", bad % c, " of the input (shape ", shape,
                                    ") has non-finite statistics: NaN or Inf in the input"));
  }

  static Scalar* scratch(gpu::DeviceBuffer<Scalar>& buffer, Index size) {
    buffer.resize(std::size_t(size));
    return buffer.data();
  }

  gpu::DeviceMatrix<Scalar> constant_gamma_, constant_beta_;  // γ = 1, β = 0 when not affine
  Planes input_;                      // device copy of the last forward's x (cuDNN's backward
                                      // needs x, not x̂)
  gpu::DeviceBuffer<Scalar> saved_;   // [μ | 1/σ] that normalised the last forward
  gpu::DeviceBuffer<Scalar> backup_;  // running statistics before the last training forward
  gpu::DeviceBuffer<Scalar> scratch_dx_, scratch_params_;
  gpu::DeviceBuffer<unsigned long long> finite_scratch_;
  gpu::TensorDescriptor x_desc_, bn_desc_;
  Shape<SpatialRank + 2> described_{};
  Execution<cuda> execution_;
};

}  // namespace ccl::nn::detail
