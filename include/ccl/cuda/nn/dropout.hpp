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
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/nn_elementwise.cuh>
#include <ccl/cuda/kernels/philox.cuh>
#include <ccl/cuda/launch.hpp>
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
    gpu::launch_elementwise("dropout_mask_kernel", (count + 3) / 4, execution_.stream,
                            gpu::nn_kernels::dropout_mask_kernel<Scalar>, key, p, scale,
                            values_.data(), count);
  }

  template <int Rank>
  void apply(const Tensor<Scalar, Rank, cuda>& x, Tensor<Scalar, Rank, cuda>& out) const {
    const long long n = x.size();
    gpu::launch_elementwise("multiply_kernel", n, execution_.stream,
                            gpu::nn_kernels::multiply_kernel<Scalar>, x.data(), values_.data(),
                            out.data(), n);
  }

  template <int Rank>
  void apply_backward(const Tensor<Scalar, Rank, cuda>& grad_y,
                      Tensor<Scalar, Rank, cuda>& grad_x) const {
    const long long n = grad_y.size();
    gpu::launch_elementwise("multiply_accumulate_kernel", n, execution_.stream,
                            gpu::nn_kernels::multiply_accumulate_kernel<Scalar>, grad_y.data(),
                            values_.data(), grad_x.data(), n);
  }

  const gpu::DeviceBuffer<Scalar>& values() const { return values_; }

 private:
  gpu::DeviceBuffer<Scalar> values_;
  Execution<cuda> execution_;
};

}  // namespace ccl::nn::detail
