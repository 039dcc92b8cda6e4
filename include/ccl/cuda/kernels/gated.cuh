#pragma once
// The elementwise parts of compose::Gated on the device (compose/gated.hpp):
//   g = σ(a) = 1 / (1 + e^{-a}),  x_tv = g ⊙ x_t + (1 − g) ⊙ x_v
// and its backward pass
//   dL/dx_t += dL/dx_tv ⊙ g,  dL/dx_v += dL/dx_tv ⊙ (1 − g),
//   dL/da = dL/dx_tv ⊙ (x_t − x_v) ⊙ g ⊙ (1 − g).
// The per-element formulas are __host__ __device__ and evaluated in the CPU code's order, so a
// host test can check them against the Eigen expressions without a GPU. Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>
#include <ccl/cuda/kernels/math.cuh>

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

/// σ(a) in the CPU's form (1 + e^{-a})^{-1}: saturates to 0 or 1 without NaN for finite a.
template <class Scalar>
__host__ __device__ inline Scalar gate_sigmoid(Scalar a) {
  return Scalar(1) / (Scalar(1) + row_math::exp(-a));
}

template <class Scalar>
__host__ __device__ inline Scalar gate_mix(Scalar g, Scalar t, Scalar v) {
  return g * t + (Scalar(1) - g) * v;
}

/// dL/da for one element.
template <class Scalar>
__host__ __device__ inline Scalar gate_pre_activation_gradient(Scalar grad_tv, Scalar g, Scalar t,
                                                               Scalar v) {
  return grad_tv * (t - v) * g * (Scalar(1) - g);
}

/// gate[i, j] = σ(a[i, j]) and composed[i, j] = gate_mix(...); a, gate, composed contiguous
/// [rows, cols], teacher and student strided.
template <class Scalar>
__global__ void gated_forward_kernel(const Scalar* __restrict__ a, const Scalar* __restrict__ t,
                                     std::ptrdiff_t t_stride, const Scalar* __restrict__ v,
                                     std::ptrdiff_t v_stride, int rows, int cols,
                                     Scalar* __restrict__ gate, Scalar* __restrict__ composed) {
  const long long count = static_cast<long long>(rows) * cols;
  for_each_index(count, [&](long long k) {
    int i, j;
    split_index(k, cols, i, j);
    const Scalar g = gate_sigmoid(a[k]);
    gate[k] = g;
    composed[k] = gate_mix(g, t[i * t_stride + j], v[i * v_stride + j]);
  });
}

/// The backward pass: grad_gate (contiguous) is written, grad_teacher / grad_student (strided,
/// either may be null) are added to. grad_tv, gate, t, v are contiguous [rows, cols].
template <class Scalar>
__global__ void gated_backward_kernel(const Scalar* __restrict__ grad_tv,
                                      const Scalar* __restrict__ gate, const Scalar* __restrict__ t,
                                      const Scalar* __restrict__ v, int rows, int cols,
                                      Scalar* __restrict__ grad_gate,
                                      Scalar* __restrict__ grad_teacher,
                                      std::ptrdiff_t grad_teacher_stride,
                                      Scalar* __restrict__ grad_student,
                                      std::ptrdiff_t grad_student_stride) {
  const long long count = static_cast<long long>(rows) * cols;
  for_each_index(count, [&](long long k) {
    int i, j;
    split_index(k, cols, i, j);
    const Scalar g = gate[k];
    const Scalar d = grad_tv[k];
    if (grad_teacher != nullptr) grad_teacher[i * grad_teacher_stride + j] += d * g;
    if (grad_student != nullptr) grad_student[i * grad_student_stride + j] += d * (Scalar(1) - g);
    grad_gate[k] = gate_pre_activation_gradient(d, g, t[k], v[k]);
  });
}

}  // namespace ccl::gpu::kernels
