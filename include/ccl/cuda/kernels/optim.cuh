#pragma once
// One fused elementwise kernel per parameter for the device optimisers: SGD (momentum,
// dampening, L2 weight decay, Nesterov) and Adam / AdamW, with exactly the CPU policies' rules
// and order of operations (optim/sgd.hpp, optim/adam.hpp, i.e. torch.optim's single-tensor
// path). The hyper-parameters arrive already rounded to Scalar, and Adam's bias corrections
// already computed in double, by the host (cuda/optim/sgd.hpp, adam.hpp), as the CPU does.
//
// The per-element updates are __host__ __device__, so a host test compares them with the CPU
// optimiser without a GPU. On the device every product, sum, quotient and square root goes
// through the round-to-nearest intrinsics, which nvcc never contracts into an FMA: the device
// then performs the same IEEE operations as the (FMA-free) host code, step for step.
// (One exception against the CPU optimiser: Eigen's float sqrt under EIGEN_FAST_MATH is rsqrt
// plus a Newton step, up to 1 ulp off; the device, like PyTorch, rounds √v correctly.)
// Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

namespace ccl::gpu::kernels {

/// Round-to-nearest +, -, ×, ÷ and √ for float and double: the intrinsics on the device, which
/// nvcc never contracts into an FMA, and the plain operators (FMA-free host code) on the host.
namespace exact {
#if defined(__CUDA_ARCH__)
#define CCL_EXACT_OP(float_op, double_op, host_expression) \
  if constexpr (std::is_same_v<Scalar, float>)             \
    return float_op;                                       \
  else                                                     \
    return double_op
#else
#define CCL_EXACT_OP(float_op, double_op, host_expression) return host_expression
#endif
template <class Scalar>
__host__ __device__ inline Scalar add(Scalar a, Scalar b) {
  CCL_EXACT_OP(__fadd_rn(a, b), __dadd_rn(a, b), a + b);
}
template <class Scalar>
__host__ __device__ inline Scalar sub(Scalar a, Scalar b) {
  CCL_EXACT_OP(__fsub_rn(a, b), __dsub_rn(a, b), a - b);
}
template <class Scalar>
__host__ __device__ inline Scalar mul(Scalar a, Scalar b) {
  CCL_EXACT_OP(__fmul_rn(a, b), __dmul_rn(a, b), a * b);
}
template <class Scalar>
__host__ __device__ inline Scalar div(Scalar a, Scalar b) {
  CCL_EXACT_OP(__fdiv_rn(a, b), __ddiv_rn(a, b), a / b);
}
template <class Scalar>
__host__ __device__ inline Scalar sqrt(Scalar a) {
  CCL_EXACT_OP(__fsqrt_rn(a), __dsqrt_rn(a), std::sqrt(a));
}
#undef CCL_EXACT_OP
}  // namespace exact

/// One SGD step's constants (optim::SgdUpdate).
template <class Scalar>
struct SgdCoefficients {
  Scalar lr;            // Scalar(lr)
  Scalar weight_decay;  // Scalar(weight_decay)
  Scalar momentum;      // Scalar(momentum)
  Scalar keep;          // Scalar(1 - dampening)
  bool has_weight_decay;
  bool has_momentum;
  bool nesterov;
  bool first;  // the momentum buffer is created by this step: b = d, no dampening
};

/// θ, b ← one SGD step for one element with gradient g (b unused without momentum).
template <class Scalar>
__host__ __device__ inline void sgd_element(const SgdCoefficients<Scalar>& c, Scalar& theta,
                                            Scalar g, Scalar& buffer) {
  using namespace exact;
  const Scalar minus_lr = -c.lr;
  // d = g + wd·θ, formed where the CPU forms it (θ is the value before this step).
  const Scalar d = c.has_weight_decay ? add(g, mul(c.weight_decay, theta)) : g;
  if (!c.has_momentum) {
    theta = add(theta, mul(minus_lr, d));
    return;
  }
  const Scalar b = c.first ? d : add(mul(buffer, c.momentum), mul(c.keep, d));
  buffer = b;
  const Scalar step = c.nesterov ? add(d, mul(c.momentum, b)) : b;
  theta = add(theta, mul(minus_lr, step));
}

/// One Adam / AdamW step's constants (optim::AdamUpdate).
template <class Scalar>
struct AdamCoefficients {
  Scalar weight_decay;      // Scalar(weight_decay), for the L2 form
  Scalar decay;             // Scalar(1 - lr·weight_decay), for the decoupled form
  Scalar one_minus_beta1;   // Scalar(1 - beta1)
  Scalar beta2;             // Scalar(beta2)
  Scalar one_minus_beta2;   // Scalar(1 - beta2)
  Scalar step_size;         // Scalar(lr / (1 - beta1^t)), bias correction in double
  Scalar correction2_sqrt;  // Scalar(sqrt(1 - beta2^t))
  Scalar eps;               // Scalar(eps)
  bool decoupled;           // AdamW with weight_decay != 0: θ ← θ·decay first
  bool l2;                  // Adam with weight_decay != 0: g ← g + wd·θ
};

/// θ, m, v ← one Adam step for one element with gradient g.
template <class Scalar>
__host__ __device__ inline void adam_element(const AdamCoefficients<Scalar>& c, Scalar& theta,
                                             Scalar g, Scalar& m, Scalar& v) {
  using namespace exact;
  if (c.decoupled) theta = mul(theta, c.decay);
  const Scalar d = c.l2 ? add(g, mul(c.weight_decay, theta)) : g;
  m = add(m, mul(c.one_minus_beta1, sub(d, m)));
  v = add(mul(v, c.beta2), mul(c.one_minus_beta2, mul(d, d)));
  const Scalar denominator = add(div(sqrt(v), c.correction2_sqrt), c.eps);
  theta = add(theta, mul(-c.step_size, div(m, denominator)));
}

template <class Scalar>
__global__ void sgd_kernel(SgdCoefficients<Scalar> c, Scalar* __restrict__ theta,
                           const Scalar* __restrict__ grad, Scalar* __restrict__ buffer,
                           long long count) {
  for_each_index(count, [&](long long k) {
    Scalar t = theta[k];
    Scalar b = c.has_momentum && !c.first ? buffer[k] : Scalar(0);
    sgd_element(c, t, grad[k], b);
    theta[k] = t;
    if (c.has_momentum) buffer[k] = b;
  });
}

template <class Scalar>
__global__ void adam_kernel(AdamCoefficients<Scalar> c, Scalar* __restrict__ theta,
                            const Scalar* __restrict__ grad, Scalar* __restrict__ exp_avg,
                            Scalar* __restrict__ exp_avg_sq, long long count) {
  for_each_index(count, [&](long long k) {
    Scalar t = theta[k];
    Scalar m = exp_avg[k];
    Scalar v = exp_avg_sq[k];
    adam_element(c, t, grad[k], m, v);
    theta[k] = t;
    exp_avg[k] = m;
    exp_avg_sq[k] = v;
  });
}

}  // namespace ccl::gpu::kernels
