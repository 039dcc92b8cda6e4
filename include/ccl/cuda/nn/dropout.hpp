#pragma once
// Dropout<Scalar, Rank, ccl::cuda>: the device counterpart of nn::Dropout (ccl/nn/dropout.hpp),
// inverted dropout with the same p, scaling (1/(1 − p); p = 1 gives zeros), eval identity and
// calling convention.
//
// The masks come from a device Philox4x32-10 generator (kernels/philox.cuh): each forward draws
// one 64-bit key from the layer's ccl::Rng (seeded at construction, rng() for checkpoints) and
// element i is kept iff its uniform u_i >= p. They are reproducible from the seed, but they are
// NOT the CPU layer's masks (which draw Rng::uniform() element by element): the two backends
// agree in distribution, not bit for bit.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/kernels/philox.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_checks.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/nn/dropout.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients

#include <cstddef>
#include <cstdint>

namespace ccl::nn {

template <class Scalar, int Rank>
class Dropout<Scalar, Rank, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using backend_type = cuda;
  using Input = Tensor<Scalar, Rank, cuda>;
  using Output = Tensor<Scalar, Rank, cuda>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr const char* name = "Dropout";
  static constexpr bool preserves_channels = true;

  explicit Dropout(double p = 0.5, std::uint64_t seed = 0) : p_(p), rng_(seed) {
    require(p >= 0 && p <= 1, name, ": the drop probability must be in [0, 1], got ", p);
  }

  double p() const { return p_; }
  void set_training(bool on) { training_ = on; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  /// The generator of the per-forward Philox keys (save its state() with a checkpoint).
  Rng& rng() { return rng_; }

  const Output& forward(const Input& x) {
    const cudaStream_t stream = gpu::settings().stream;
    active_ = training_ && p_ > 0;
    const long long n = x.size();
    if (!active_) {
      output_.resize(x.shape());
      if (n > 0 && static_cast<const void*>(x.data()) != output_.data()) {
        CCL_CUDA_CHECK(cudaMemcpyAsync(output_.data(), x.data(), std::size_t(n) * sizeof(Scalar),
                                       cudaMemcpyDeviceToDevice, stream));
      }
      return output_;
    }
    output_.resize(x.shape());
    const Scalar scale = p_ < 1 ? Scalar(1.0 / (1.0 - p_)) : Scalar(0);
    mask_.resize(std::size_t(n));
    const std::uint64_t key = rng_.next_u64();
    if (n == 0) return output_;
    gpu::nn_kernels::dropout_mask_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks((n + 3) / 4), gpu::nn_kernels::block_threads, 0,
           stream>>>(key, p_, scale, mask_.data(), n);
    CCL_CUDA_CHECK_LAUNCH("dropout_mask_kernel");
    gpu::nn_kernels::multiply_kernel<Scalar>
        <<<gpu::nn_kernels::grid_blocks(n), gpu::nn_kernels::block_threads, 0, stream>>>(
            x.data(), mask_.data(), output_.data(), n);
    CCL_CUDA_CHECK_LAUNCH("multiply_kernel");
    return output_;
  }

  const Output& output() const { return output_; }

  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", output_.shape());
    const long long n = grad_y.size();
    const int blocks = gpu::nn_kernels::grid_blocks(n);
    const cudaStream_t stream = gpu::settings().stream;
    if (active_) {
      gpu::nn_kernels::multiply_accumulate_kernel<Scalar>
          <<<blocks, gpu::nn_kernels::block_threads, 0, stream>>>(grad_y.data(), mask_.data(),
                                                                    grad_x->data(), n);
      CCL_CUDA_CHECK_LAUNCH("multiply_accumulate_kernel");
    } else {
      gpu::nn_kernels::accumulate_kernel<Scalar>
          <<<blocks, gpu::nn_kernels::block_threads, 0, stream>>>(grad_y.data(),
                                                                    grad_x->data(), n);
      CCL_CUDA_CHECK_LAUNCH("accumulate_kernel");
    }
  }

  /// The mask of the last training forward (0 or 1/(1 − p) per element), for tests.
  const gpu::DeviceBuffer<Scalar>& mask() const { return mask_; }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  double p_;
  Rng rng_;
  bool training_ = true;
  bool active_ = false;
  gpu::DeviceBuffer<Scalar> mask_;
  Output output_;
};

}  // namespace ccl::nn
