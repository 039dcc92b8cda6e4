#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
// counter-based generator of cuRAND's and PyTorch's device dropout: element i's random bits are
// a pure function of (key, counter), so a kernel draws any element independently and a mask is
// reproducible from a 64-bit seed. __host__ __device__ so that the host tests check it against
// the published known-answer vectors without a GPU. Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime.h>

#include <cstdint>

namespace ccl::gpu::nn_kernels {

struct Philox4x32 {
  std::uint32_t v[4];
};

__host__ __device__ inline void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                               std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

/// Ten rounds of Philox4x32 on `counter` with the 64-bit key (key0, key1).
__host__ __device__ inline Philox4x32 philox4x32_10(Philox4x32 counter, std::uint32_t key0,
                                                    std::uint32_t key1) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(m0, counter.v[0], hi0, lo0);
    philox_mulhilo(m1, counter.v[2], hi1, lo1);
    counter = Philox4x32{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += w0;
    key1 += w1;
  }
  return counter;
}

/// Dropout mask: element i of `count` is `scale` with probability 1 - p (kept) and 0 otherwise.
/// Element i uses word i % 4 of philox(counter = (i / 4 low, i / 4 high, 0, 0), key = seed),
/// turned into u = word * 2^-32 in [0, 1); kept iff u >= p, like the CPU layer's rule.
template <class Scalar>
__global__ void dropout_mask_kernel(std::uint64_t seed, double p, Scalar scale,
                                    Scalar* __restrict__ mask, long long count) {
  const long long groups = (count + 3) / 4;
  kernels::for_each_index(groups, [&](long long g) {
    const auto group = static_cast<std::uint64_t>(g);
    const Philox4x32 bits =
        philox4x32_10(Philox4x32{{static_cast<std::uint32_t>(group),
                                  static_cast<std::uint32_t>(group >> 32), 0u, 0u}},
                      static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    for (int k = 0; k < 4; ++k) {
      const long long i = g * 4 + k;
      if (i >= count) break;
      const double u = double(bits.v[k]) * (1.0 / 4294967296.0);
      mask[i] = u >= p ? scale : Scalar(0);
    }
  });
}

}  // namespace ccl::gpu::nn_kernels
