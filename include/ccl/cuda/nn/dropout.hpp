#pragma once
// Dropout<Scalar, Rank, ccl::cuda>: the one nn::Dropout (ccl/nn/dropout.hpp) on device tensors:
// inverted dropout with the same p, scaling (1/(1 − p); p = 1 gives zeros), eval identity and
// calling convention. What is device-specific is the mask, detail::DropoutMask<Scalar,
// ccl::cuda>: a device Philox4x32-10 generator (kernels/philox.cuh), one 64-bit key per forward
// drawn from the layer's ccl::Rng (seeded at construction, rng() for checkpoints), element i kept
// iff its uniform u_i >= p. The masks are reproducible from the seed, but they are NOT the CPU
// layer's masks (which draw Rng::uniform() element by element): the two backends agree in
// distribution, not bit for bit.

#include <ccl/core/backend.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/kernels/philox.cuh>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/nn/tensor_ops.hpp>
#include <ccl/nn/dropout.hpp>

#include <cstddef>
#include <cstdint>

namespace ccl::nn::detail {

template <class Scalar>
class DropoutMask<Scalar, cuda> {
 public:
  void set_execution(const Execution<cuda>& execution) { rebind_execution(execution_, execution); }

  void draw(Rng& rng, double p, Scalar scale, Index count) {
    values_.resize(std::size_t(count));
    const std::uint64_t key = rng.next_u64();
    if (count == 0) return;
    gpu::nn_kernels::dropout_mask_kernel<Scalar>
        <<<gpu::kernels::elementwise_blocks((count + 3) / 4), gpu::kernels::elementwise_threads, 0,
           execution_.stream>>>(key, p, scale, values_.data(), count);
    CCL_CUDA_CHECK_LAUNCH("dropout_mask_kernel");
  }

  template <int Rank>
  void apply(const Tensor<Scalar, Rank, cuda>& x, Tensor<Scalar, Rank, cuda>& out) const {
    const long long n = x.size();
    if (n == 0) return;
    gpu::nn_kernels::multiply_kernel<Scalar>
        <<<gpu::kernels::elementwise_blocks(n), gpu::kernels::elementwise_threads, 0,
           execution_.stream>>>(x.data(), values_.data(), out.data(), n);
    CCL_CUDA_CHECK_LAUNCH("multiply_kernel");
  }

  template <int Rank>
  void apply_backward(const Tensor<Scalar, Rank, cuda>& grad_y,
                      Tensor<Scalar, Rank, cuda>& grad_x) const {
    const long long n = grad_y.size();
    if (n == 0) return;
    gpu::nn_kernels::multiply_accumulate_kernel<Scalar>
        <<<gpu::kernels::elementwise_blocks(n), gpu::kernels::elementwise_threads, 0,
           execution_.stream>>>(grad_y.data(), values_.data(), grad_x.data(), n);
    CCL_CUDA_CHECK_LAUNCH("multiply_accumulate_kernel");
  }

  const gpu::DeviceBuffer<Scalar>& values() const { return values_; }

 private:
  gpu::DeviceBuffer<Scalar> values_;
  Execution<cuda> execution_;
};

}  // namespace ccl::nn::detail
