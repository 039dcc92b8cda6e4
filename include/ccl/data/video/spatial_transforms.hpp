#pragma once
// The spatial transforms of the official clip pipeline (method.md §2.6, §5), on RgbFrame:
//
//   random_resized_crop_box   torchvision RandomResizedCrop.get_params: 10 attempts of an area
//                             fraction ~ U[scale] and a log-uniform aspect ratio, Python's
//                             round-half-to-even, then the central-crop fallback
//   center_crop_box           torchvision CenterCrop (offsets round((H − h)/2), half to even)
//   short_side_size           torchvision Resize(int): the short side becomes `size`, the long
//                             side int(size · long / short) (truncated)
//   resize_bilinear           PIL's Image.resize(..., BILINEAR) on 8-bit RGB, which torchvision
//                             calls on PIL images: a separable triangle filter whose support
//                             widens with the downscaling factor (so it antialiases), horizontal
//                             pass first, 22-bit fixed-point weights, rounding to 8 bits after
//                             each pass — the arithmetic of Pillow's Resample.c
//   flip_horizontal           RandomHorizontalFlip's mirror
//
// The random draws come from ccl::Rng, so a seed always gives the same crop; the draws cannot
// match PyTorch's own generator, only its distribution.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/video/frame.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace ccl::data {

/// A crop rectangle in pixels: rows [top, top + height), columns [left, left + width).
struct CropBox {
  Index top = 0;
  Index left = 0;
  Index height = 0;
  Index width = 0;
};

inline bool operator==(const CropBox& a, const CropBox& b) {
  return a.top == b.top && a.left == b.left && a.height == b.height && a.width == b.width;
}

struct RandomResizedCropOptions {
  double min_scale = 0.25;  // area fraction (method.md §2.6: train_crop_min_scale 0.25)
  double max_scale = 1.0;
  double min_ratio = 3.0 / 4.0;  // width / height
  double max_ratio = 4.0 / 3.0;
};

namespace detail {

// Python 3's round() for the values get_params rounds: half to even (std::nearbyint in the
// default rounding mode).
inline Index python_round(double value) { return Index(std::nearbyint(value)); }

}  // namespace detail

/// torchvision's RandomResizedCrop.get_params for an image of height × width.
inline CropBox random_resized_crop_box(Index height, Index width, Rng& rng,
                                       const RandomResizedCropOptions& options = {}) {
  require(height > 0 && width > 0, "random_resized_crop_box: empty image ", height, "x", width);
  require(options.min_scale > 0 && options.min_scale <= options.max_scale &&
              options.min_ratio > 0 && options.min_ratio <= options.max_ratio,
          "random_resized_crop_box: bad options: scale [", options.min_scale, ", ",
          options.max_scale, "], ratio [", options.min_ratio, ", ", options.max_ratio, "]");
  const double area = double(height) * double(width);
  const double log_min = std::log(options.min_ratio), log_max = std::log(options.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(options.min_scale, options.max_scale);
    const double aspect_ratio = std::exp(rng.uniform(log_min, log_max));
    const Index w = detail::python_round(std::sqrt(target_area * aspect_ratio));
    const Index h = detail::python_round(std::sqrt(target_area / aspect_ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const Index top = rng.index(height - h + 1);
      const Index left = rng.index(width - w + 1);
      return {top, left, h, w};
    }
  }
  const double in_ratio = double(width) / double(height);
  Index w = width, h = height;
  if (in_ratio < options.min_ratio) {
    h = detail::python_round(double(w) / options.min_ratio);
  } else if (in_ratio > options.max_ratio) {
    w = detail::python_round(double(h) * options.max_ratio);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

/// torchvision's CenterCrop box of crop_height × crop_width inside height × width.
inline CropBox center_crop_box(Index height, Index width, Index crop_height, Index crop_width) {
  require(crop_height > 0 && crop_width > 0 && crop_height <= height && crop_width <= width,
          "center_crop_box: cannot cut ", crop_height, "x", crop_width, " out of ", height, "x",
          width);
  return {detail::python_round(double(height - crop_height) / 2.0),
          detail::python_round(double(width - crop_width) / 2.0), crop_height, crop_width};
}

/// torchvision's Resize(size) output (height, width): the short side becomes `size`.
inline std::pair<Index, Index> short_side_size(Index height, Index width, Index size) {
  require(height > 0 && width > 0 && size > 0, "short_side_size: bad sizes ", height, "x", width,
          " -> ", size);
  if ((width <= height && width == size) || (height <= width && height == size))
    return {height, width};
  if (width < height) return {Index(double(size) * double(height) / double(width)), size};
  return {size, Index(double(size) * double(width) / double(height))};
}

/// A copy of the pixels inside `box`.
inline RgbFrame crop(const RgbFrame& frame, const CropBox& box) {
  require(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0 &&
              box.top + box.height <= frame.height && box.left + box.width <= frame.width,
          "crop: box (top ", box.top, ", left ", box.left, ", ", box.height, "x", box.width,
          ") does not fit a ", frame.height, "x", frame.width, " frame");
  RgbFrame out(box.height, box.width);
  for (Index y = 0; y < box.height; ++y) {
    const auto* row = &frame.pixels[std::size_t(((box.top + y) * frame.width + box.left) * 3)];
    std::copy(row, row + box.width * 3, &out.pixels[std::size_t(y * box.width * 3)]);
  }
  return out;
}

inline void flip_horizontal(RgbFrame& frame) {
  for (Index y = 0; y < frame.height; ++y)
    for (Index x = 0; x < frame.width / 2; ++x)
      for (Index c = 0; c < 3; ++c) std::swap(frame.at(y, x, c), frame.at(y, frame.width - 1 - x, c));
}

namespace detail {

// Pillow's precompute_coeffs (bilinear filter, box = the whole input) and normalize_coeffs_8bpc.
struct PilCoefficients {
  Index ksize = 0;
  std::vector<Index> first;               // first input pixel of each output pixel
  std::vector<Index> count;               // number of input pixels used
  std::vector<std::int32_t> weights;      // out_size × ksize fixed-point weights
};

inline constexpr int pil_precision_bits = 32 - 8 - 2;

inline PilCoefficients pil_bilinear_coefficients(Index in_size, Index out_size) {
  const double scale = double(in_size) / double(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // the bilinear filter's support is 1
  PilCoefficients c;
  c.ksize = Index(std::ceil(support)) * 2 + 1;
  c.first.resize(std::size_t(out_size));
  c.count.resize(std::size_t(out_size));
  c.weights.assign(std::size_t(out_size * c.ksize), 0);
  std::vector<double> k(std::size_t(c.ksize));
  for (Index xx = 0; xx < out_size; ++xx) {
    const double center = (double(xx) + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    Index xmin = Index(int(center - support + 0.5));  // C's truncating cast, as Pillow
    if (xmin < 0) xmin = 0;
    Index xmax = Index(int(center + support + 0.5));
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (Index x = 0; x < xmax; ++x) {
      const double t = std::abs((double(x + xmin) - center + 0.5) * ss);
      k[std::size_t(x)] = t < 1.0 ? 1.0 - t : 0.0;
      total += k[std::size_t(x)];
    }
    for (Index x = 0; x < xmax; ++x) {
      double w = total != 0.0 ? k[std::size_t(x)] / total : k[std::size_t(x)];
      w *= double(1 << pil_precision_bits);
      c.weights[std::size_t(xx * c.ksize + x)] = std::int32_t(w < 0 ? -0.5 + w : 0.5 + w);
    }
    c.first[std::size_t(xx)] = xmin;
    c.count[std::size_t(xx)] = xmax;
  }
  return c;
}

inline std::uint8_t pil_clip8(std::int64_t value) {
  if (value >= (std::int64_t(1) << pil_precision_bits << 8)) return 255;
  if (value <= 0) return 0;
  return std::uint8_t(value >> pil_precision_bits);
}

// One pass along x (horizontal = true) or y of an RGB frame.
inline RgbFrame pil_resample_pass(const RgbFrame& in, Index out_size, bool horizontal) {
  const Index in_size = horizontal ? in.width : in.height;
  const PilCoefficients c = pil_bilinear_coefficients(in_size, out_size);
  RgbFrame out(horizontal ? in.height : out_size, horizontal ? out_size : in.width);
  for (Index y = 0; y < out.height; ++y)
    for (Index x = 0; x < out.width; ++x) {
      const Index o = horizontal ? x : y;
      const std::int32_t* w = &c.weights[std::size_t(o * c.ksize)];
      for (Index ch = 0; ch < 3; ++ch) {
        std::int64_t sum = std::int64_t(1) << (pil_precision_bits - 1);
        for (Index t = 0; t < c.count[std::size_t(o)]; ++t) {
          const Index s = c.first[std::size_t(o)] + t;
          sum += std::int64_t(horizontal ? in.at(y, s, ch) : in.at(s, x, ch)) * w[t];
        }
        out.at(y, x, ch) = pil_clip8(sum);
      }
    }
  return out;
}

}  // namespace detail

/// Resizes a frame to out_height × out_width exactly as Pillow's BILINEAR resize of 8-bit RGB.
inline RgbFrame resize_bilinear(const RgbFrame& frame, Index out_height, Index out_width) {
  require(frame.height > 0 && frame.width > 0 && out_height > 0 && out_width > 0,
          "resize_bilinear: cannot resize ", frame.height, "x", frame.width, " to ", out_height,
          "x", out_width);
  const bool horizontal = out_width != frame.width, vertical = out_height != frame.height;
  if (!horizontal && !vertical) return frame;
  if (!horizontal) return detail::pil_resample_pass(frame, out_height, false);
  RgbFrame pass = detail::pil_resample_pass(frame, out_width, true);
  return vertical ? detail::pil_resample_pass(pass, out_height, false) : pass;
}

}  // namespace ccl::data
