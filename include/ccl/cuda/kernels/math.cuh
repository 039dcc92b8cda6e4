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
template <class Scalar>
__host__ __device__ inline Scalar exp(Scalar x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
template <class Scalar>
__host__ __device__ inline Scalar log(Scalar x) {
#if defined(__CUDA_ARCH__)
  return ::log(x);
#else
  return std::log(x);
#endif
}
template <class Scalar>
__host__ __device__ inline Scalar log1p(Scalar x) {
#if defined(__CUDA_ARCH__)
  return ::log1p(x);
#else
  return std::log1p(x);
#endif
}
template <class Scalar>
__host__ __device__ inline Scalar sqrt(Scalar x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}
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
