#pragma once
// Elementary functions for code that runs on both sides: CUDA's device overloads on the device,
// <cmath> on the host, for float and double alike. They let the per-row mathematics of the
// kernels be __host__ __device__, so host tests can check it against the CPU backend without a
// GPU. Eigen-free.

#include <cuda_runtime.h>

#include <cmath>

namespace ccl::gpu::kernels {

/// exp, log, log1p, sqrt, abs and max that resolve to CUDA's device functions on the device and to
/// <cmath> on the host, for float and double alike.
namespace row_math {
// CUDA's overloads live in the global namespace on the device, <cmath>'s in std on the host.
#if defined(__CUDA_ARCH__)
#define CCL_ROW_MATH(function) ::function
#else
#define CCL_ROW_MATH(function) std::function
#endif
template <class Scalar>
__host__ __device__ inline Scalar exp(Scalar x) {
  return CCL_ROW_MATH(exp)(x);
}
template <class Scalar>
__host__ __device__ inline Scalar log(Scalar x) {
  return CCL_ROW_MATH(log)(x);
}
template <class Scalar>
__host__ __device__ inline Scalar log1p(Scalar x) {
  return CCL_ROW_MATH(log1p)(x);
}
template <class Scalar>
__host__ __device__ inline Scalar sqrt(Scalar x) {
  return CCL_ROW_MATH(sqrt)(x);
}
#undef CCL_ROW_MATH
template <class Scalar>
__host__ __device__ inline Scalar abs(Scalar x) {
  return x < Scalar(0) ? -x : x;
}
template <class Scalar>
__host__ __device__ inline Scalar max(Scalar a, Scalar b) {
  return a < b ? b : a;
}
}  // namespace row_math

}  // namespace ccl::gpu::kernels
