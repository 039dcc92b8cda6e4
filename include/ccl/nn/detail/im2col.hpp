#pragma once
// im2col / col2im for 1D, 2D and 3D convolutions and pooling windows.
//
// Every spatial rank is lifted to 3D by prepending unit axes ([L] -> [1, 1, L], [H, W] ->
// [1, H, W]), so one loop nest serves Conv1d, Conv2d and Conv3d and is tested once for all.
// The column matrix of one sample is row-major [C * kT * kH * kW, oT * oH * oW]: row r =
// ((c * kT + a) * kH + b) * kW + e holds the input value under kernel tap (a, b, e) for every
// output position, which is exactly the [Cout, Cin, kT, kH, kW] weight layout of PyTorch
// flattened to [Cout, Cin * kT * kH * kW], so the convolution is one GEMM W * cols.
// Columns of several samples sit side by side (leading dimension `ld`) so that the GEMM is wide.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

namespace ccl::nn::detail {

struct WindowGeometry {
  Index channels = 0;
  std::array<Index, 3> in{1, 1, 1};
  std::array<Index, 3> out{1, 1, 1};
  std::array<Index, 3> kernel{1, 1, 1};
  std::array<Index, 3> stride{1, 1, 1};
  std::array<Index, 3> padding{0, 0, 0};
  std::array<Index, 3> dilation{1, 1, 1};

  Index in_size() const { return in[0] * in[1] * in[2]; }
  Index out_size() const { return out[0] * out[1] * out[2]; }
  Index kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  Index column_rows() const { return channels * kernel_size(); }

  /// A 1x1x1 kernel with unit stride and no padding reads the input as it is: no im2col needed.
  bool pointwise() const {
    return kernel_size() == 1 && stride == std::array<Index, 3>{1, 1, 1} &&
           padding == std::array<Index, 3>{0, 0, 0};
  }
};

/// The output extent of a sliding window (PyTorch's formula, floor mode), or -1 when the dilated
/// kernel does not fit in the padded input.
inline Index window_output_extent(Index in, Index kernel, Index stride, Index padding,
                                  Index dilation) {
  const Index span = dilation * (kernel - 1) + 1;
  if (in + 2 * padding < span) return -1;
  return (in + 2 * padding - span) / stride + 1;
}

/// Lifts rank-R window parameters to the 3D geometry (unit axes in front) and computes the output
/// extents; throws a ccl::error naming `op` when the kernel is larger than the padded input.
template <std::size_t R>
WindowGeometry make_window_geometry(const char* op, Index channels, const std::array<Index, R>& in,
                                    const std::array<Index, R>& kernel,
                                    const std::array<Index, R>& stride,
                                    const std::array<Index, R>& padding,
                                    const std::array<Index, R>& dilation) {
  static_assert(R >= 1 && R <= 3, "ccl::nn: windows have 1, 2 or 3 spatial axes");
  WindowGeometry g;
  g.channels = channels;
  for (std::size_t i = 0; i < R; ++i) {
    const std::size_t j = 3 - R + i;
    g.in[j] = in[i];
    g.kernel[j] = kernel[i];
    g.stride[j] = stride[i];
    g.padding[j] = padding[i];
    g.dilation[j] = dilation[i];
    g.out[j] = window_output_extent(in[i], kernel[i], stride[i], padding[i], dilation[i]);
    require(g.out[j] > 0, op, ": kernel ", kernel[i], " (dilation ", dilation[i],
            ") is larger than the padded input along spatial axis ", i, ": extent ", in[i],
            " + 2 * padding ", padding[i], " = ", in[i] + 2 * padding[i]);
  }
  return g;
}

namespace window {
/// The output positions o in [lo, hi) for which o * stride + offset lies inside [0, extent).
inline void valid_range(Index extent, Index stride, Index offset, Index out, Index& lo, Index& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = extent - 1 - offset < 0 ? 0 : (extent - 1 - offset) / stride + 1;
  hi = std::min(hi, out);
  lo = std::min(lo, hi);
}
}  // namespace window

namespace window {
// Short rows (a 32x32 clip's output rows hold 4 to 16 values) make std::copy / std::fill a library
// call per row; Eigen's maps copy them inline with vector instructions.
template <class Scalar>
void copy_row(const Scalar* src, Index n, Scalar* dst) {
  if (n > 0) Eigen::Map<Vector<Scalar>>(dst, n) = Eigen::Map<const Vector<Scalar>>(src, n);
}
template <class Scalar>
void zero_row(Scalar* dst, Index n) {
  if (n > 0) Eigen::Map<Vector<Scalar>>(dst, n).setZero();
}
template <class Scalar>
void add_row(const Scalar* src, Index n, Scalar* dst) {
  if (n > 0) Eigen::Map<Vector<Scalar>>(dst, n) += Eigen::Map<const Vector<Scalar>>(src, n);
}

/// Whether the kernel row (b, e) reads whole input rows unchanged (no padding, stride or dilation
/// along H and W, and in_w == out_w): then the output rows of one time step are a contiguous run
/// of the input plane, copied in one piece (the temporal 3x1x1 convolutions of R(2+1)D).
inline bool plane_contiguous(const WindowGeometry& g) {
  return g.kernel[1] == 1 && g.kernel[2] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
         g.padding[1] == 0 && g.padding[2] == 0 && g.in[1] == g.out[1] && g.in[2] == g.out[2];
}
}  // namespace window

/// Writes the kernel rows of channel c of one sample x ([C, T, H, W]) into cols (row stride ld):
/// rows [c·kT·kH·kW, (c + 1)·kT·kH·kW); positions in the padding read 0. Channels touch disjoint
/// rows, so callers may run them in parallel. Only the output time steps [t_first, t_last) are
/// written (all by default), as columns 0, 1, ... of cols: a block of a large clip's columns.
template <class Scalar>
void im2col_channel(const WindowGeometry& g, const Scalar* x, Index c, Scalar* cols, Index ld,
                    Index t_first = 0, Index t_last = -1) {
  const Index in_t = g.in[0], in_h = g.in[1], in_w = g.in[2];
  const Index out_h = g.out[1], out_w = g.out[2];
  const Index out_t = t_last < 0 ? g.out[0] : t_last;
  // Output step ot lands in column (ot - t_first)·H·W + ...; offsets, not a shifted pointer.
  const Index skip = t_first * out_h * out_w;

  const Scalar* xc = x + c * g.in_size();
  Index row = c * g.kernel_size();
  const bool planes = window::plane_contiguous(g);
  for (Index a = 0; a < g.kernel[0]; ++a)
    for (Index b = 0; b < g.kernel[1]; ++b)
      for (Index e = 0; e < g.kernel[2]; ++e, ++row) {
        Scalar* dst_row = cols + row * ld;
        const Index off_w = e * g.dilation[2] - g.padding[2];
        Index lo = 0, hi = 0;
        window::valid_range(in_w, g.stride[2], off_w, out_w, lo, hi);
        for (Index ot = t_first; ot < out_t; ++ot) {
          const Index it = ot * g.stride[0] - g.padding[0] + a * g.dilation[0];
          if (planes) {
            Scalar* dst = dst_row + (ot * out_h * out_w - skip);
            if (it < 0 || it >= in_t)
              window::zero_row(dst, out_h * out_w);
            else
              window::copy_row(xc + it * in_h * in_w, out_h * out_w, dst);
            continue;
          }
          for (Index oh = 0; oh < out_h; ++oh) {
            const Index ih = oh * g.stride[1] - g.padding[1] + b * g.dilation[1];
            Scalar* dst = dst_row + ((ot * out_h + oh) * out_w - skip);
            if (it < 0 || it >= in_t || ih < 0 || ih >= in_h) {
              window::zero_row(dst, out_w);
              continue;
            }
            // Signed offsets, not pointers: off_w < 0 would point before the buffer.
            const Index base = (it * in_h + ih) * in_w + off_w;
            window::zero_row(dst, lo);
            if (g.stride[2] == 1) {
              window::copy_row(xc + base + lo, hi - lo, dst + lo);
            } else {
              for (Index ow = lo; ow < hi; ++ow) dst[ow] = xc[base + ow * g.stride[2]];
            }
            window::zero_row(dst + hi, out_w - hi);
          }
        }
      }
}

/// Writes the columns of one sample x ([C, T, H, W]) into cols (row stride ld); only those of the
/// output time steps [t_first, t_last) when given.
template <class Scalar>
void im2col(const WindowGeometry& g, const Scalar* x, Scalar* cols, Index ld, Index t_first = 0,
            Index t_last = -1) {
  for (Index c = 0; c < g.channels; ++c) im2col_channel(g, x, c, cols, ld, t_first, t_last);
}

/// The adjoint of im2col_channel: ADDS the kernel rows of channel c back onto the input positions
/// they were read from (entries that read the padding are dropped). Channels write disjoint
/// input planes, so callers may run them in parallel.
template <class Scalar>
void col2im_add_channel(const WindowGeometry& g, const Scalar* cols, Index ld, Index c, Scalar* x,
                        Index t_first = 0, Index t_last = -1) {
  const Index in_t = g.in[0], in_h = g.in[1], in_w = g.in[2];
  const Index out_h = g.out[1], out_w = g.out[2];
  const Index out_t = t_last < 0 ? g.out[0] : t_last;
  const Index skip = t_first * out_h * out_w;  // as in im2col_channel

  Scalar* xc = x + c * g.in_size();
  Index row = c * g.kernel_size();
  const bool planes = window::plane_contiguous(g);
  for (Index a = 0; a < g.kernel[0]; ++a)
    for (Index b = 0; b < g.kernel[1]; ++b)
      for (Index e = 0; e < g.kernel[2]; ++e, ++row) {
        const Scalar* src_row = cols + row * ld;
        const Index off_w = e * g.dilation[2] - g.padding[2];
        Index lo = 0, hi = 0;
        window::valid_range(in_w, g.stride[2], off_w, out_w, lo, hi);
        for (Index ot = t_first; ot < out_t; ++ot) {
          const Index it = ot * g.stride[0] - g.padding[0] + a * g.dilation[0];
          if (it < 0 || it >= in_t) continue;
          if (planes) {
            window::add_row(src_row + (ot * out_h * out_w - skip), out_h * out_w,
                            xc + it * in_h * in_w);
            continue;
          }
          for (Index oh = 0; oh < out_h; ++oh) {
            const Index ih = oh * g.stride[1] - g.padding[1] + b * g.dilation[1];
            if (ih < 0 || ih >= in_h) continue;
            const Scalar* src = src_row + ((ot * out_h + oh) * out_w - skip);
            const Index base = (it * in_h + ih) * in_w + off_w;
            if (g.stride[2] == 1) {
              window::add_row(src + lo, hi - lo, xc + base + lo);
            } else {
              for (Index ow = lo; ow < hi; ++ow) xc[base + ow * g.stride[2]] += src[ow];
            }
          }
        }
      }
}

/// The adjoint of im2col for one sample: ADDS every column entry back onto its input position
/// (only those of the output time steps [t_first, t_last) when given).
template <class Scalar>
void col2im_add(const WindowGeometry& g, const Scalar* cols, Index ld, Scalar* x, Index t_first = 0,
                Index t_last = -1) {
  for (Index c = 0; c < g.channels; ++c) col2im_add_channel(g, cols, ld, c, x, t_first, t_last);
}

}  // namespace ccl::nn::detail
