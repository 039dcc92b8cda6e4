#pragma once
// Finds the first (row-major) non-finite element of a strided [rows, cols] matrix, so that the
// host can report "f[3, 17] = nan is not finite" like the CPU backend. Eigen-free.

#include <cuda_runtime.h>

#include <cstddef>

namespace ccl::gpu::kernels {

/// `first_bad` must hold ~0ull before the launch; it receives the smallest flat index
/// row * cols + col of a NaN or Inf.
template <class Scalar>
__global__ void first_non_finite_kernel(const Scalar* __restrict__ x, std::ptrdiff_t stride,
                                        long long rows, long long cols,
                                        unsigned long long* first_bad) {
  const long long total = rows * cols;
  for (long long k = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long row = k / cols;
    const long long col = k - row * cols;
    if (!isfinite(x[row * stride + col])) atomicMin(first_bad, static_cast<unsigned long long>(k));
  }
}

}  // namespace ccl::gpu::kernels
