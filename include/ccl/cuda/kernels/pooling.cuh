#pragma once
// Max and average pooling over [planes, T, H, W] (every spatial rank lifted to 3D with unit axes
// in front, as in ccl/nn/detail/im2col.hpp), with the CPU layer's exact semantics: windows
// clipped to the input (padding acts as -inf for max, as zeros or excluded for average), ties go
// to the first maximum in t, h, w scan order and NaN propagates. One thread per output element
// forward; backward is a gather (one thread per input element over the windows that contain
// it), so no atomics and a deterministic result. Eigen-free.

#include <ccl/cuda/kernels/grid_stride.cuh>

#include <cuda_runtime.h>

namespace ccl::gpu::nn_kernels {

/// The lifted window geometry (ccl::nn::detail::WindowGeometry in plain ints for the device).
struct PoolGeometry {
  int in[3];
  int out[3];
  int kernel[3];
  int stride[3];
  int padding[3];
  bool count_include_pad;

  __host__ __device__ long long in_size() const {
    return static_cast<long long>(in[0]) * in[1] * in[2];
  }
  __host__ __device__ long long out_size() const {
    return static_cast<long long>(out[0]) * out[1] * out[2];
  }
};

/// The clipped input range [first, last) of window `o` along axis `a`.
__host__ __device__ inline void pool_window(const PoolGeometry& g, int a, int o, int& first,
                                            int& last) {
  const int start = o * g.stride[a] - g.padding[a];
  first = start > 0 ? start : 0;
  const int end = start + g.kernel[a];
  last = end < g.in[a] ? end : g.in[a];
}

/// The output positions [lo, hi] along axis `a` whose windows contain input index `i`.
__host__ __device__ inline void pool_windows_containing(const PoolGeometry& g, int a, int i,
                                                        int& lo, int& hi) {
  // o * s - p <= i  and  i < o * s - p + k   <=>   (i + p - k + 1) / s <= o <= (i + p) / s
  const int top = i + g.padding[a];
  const int bottom = top - g.kernel[a] + 1;
  lo = bottom <= 0 ? 0 : (bottom + g.stride[a] - 1) / g.stride[a];
  hi = top / g.stride[a];
  if (hi > g.out[a] - 1) hi = g.out[a] - 1;
}

template <class Scalar>
__host__ __device__ inline Scalar pool_divisor(const PoolGeometry& g, const int first[3],
                                               const int last[3]) {
  if (g.count_include_pad) return Scalar(g.kernel[0] * g.kernel[1] * g.kernel[2]);
  return Scalar((last[0] - first[0]) * (last[1] - first[1]) * (last[2] - first[2]));
}

/// Max (`Max` = true; argmax receives the winning input position within the plane) or average.
template <class Scalar, bool Max>
__global__ void pool_forward_kernel(const Scalar* __restrict__ x, PoolGeometry g, long long planes,
                                    Scalar* __restrict__ y, int* __restrict__ argmax) {
  const long long out_p = g.out_size(), total = planes * out_p;
  kernels::for_each_index(total, [&](long long k) {
    const long long plane = k / out_p;
    int o = static_cast<int>(k - plane * out_p);
    const int ow = o % g.out[2];
    o /= g.out[2];
    const int oh = o % g.out[1];
    const int ot = o / g.out[1];
    int first[3], last[3];
    pool_window(g, 0, ot, first[0], last[0]);
    pool_window(g, 1, oh, first[1], last[1]);
    pool_window(g, 2, ow, first[2], last[2]);
    const Scalar* in = x + plane * g.in_size();
    if constexpr (Max) {
      Scalar best = Scalar(0);
      int where = -1;
      for (int t = first[0]; t < last[0]; ++t)
        for (int h = first[1]; h < last[1]; ++h)
          for (int w = first[2]; w < last[2]; ++w) {
            const int i = (t * g.in[1] + h) * g.in[2] + w;
            const Scalar v = in[i];
            if (where < 0 || v > best || v != v) {
              best = v;
              where = i;
            }
          }
      y[k] = best;
      argmax[k] = where;
    } else {
      Scalar sum = 0;
      for (int t = first[0]; t < last[0]; ++t)
        for (int h = first[1]; h < last[1]; ++h)
          for (int w = first[2]; w < last[2]; ++w) sum += in[(t * g.in[1] + h) * g.in[2] + w];
      y[k] = sum / pool_divisor<Scalar>(g, first, last);
    }
  });
}

/// dx += the gradient of pool_forward_kernel: max routes dy[o] to argmax[o], average spreads
/// dy[o] / divisor over the window.
template <class Scalar, bool Max>
__global__ void pool_backward_kernel(const Scalar* __restrict__ dy, const int* __restrict__ argmax,
                                     PoolGeometry g, long long planes, Scalar* __restrict__ dx) {
  const long long in_p = g.in_size(), out_p = g.out_size(), total = planes * in_p;
  kernels::for_each_index(total, [&](long long k) {
    const long long plane = k / in_p;
    const int i = static_cast<int>(k - plane * in_p);
    const int iw = i % g.in[2];
    const int ih = (i / g.in[2]) % g.in[1];
    const int it = i / (g.in[2] * g.in[1]);
    int lo[3], hi[3];
    pool_windows_containing(g, 0, it, lo[0], hi[0]);
    pool_windows_containing(g, 1, ih, lo[1], hi[1]);
    pool_windows_containing(g, 2, iw, lo[2], hi[2]);
    const Scalar* grad = dy + plane * out_p;
    Scalar sum = 0;
    for (int t = lo[0]; t <= hi[0]; ++t)
      for (int h = lo[1]; h <= hi[1]; ++h)
        for (int w = lo[2]; w <= hi[2]; ++w) {
          const int o = (t * g.out[1] + h) * g.out[2] + w;
          if constexpr (Max) {
            if (argmax[plane * out_p + o] == i) sum += grad[o];
          } else {
            int first[3], last[3];
            pool_window(g, 0, t, first[0], last[0]);
            pool_window(g, 1, h, first[1], last[1]);
            pool_window(g, 2, w, first[2], last[2]);
            sum += grad[o] / pool_divisor<Scalar>(g, first, last);
          }
        }
    dx[k] += sum;
  });
}

}  // namespace ccl::gpu::nn_kernels
