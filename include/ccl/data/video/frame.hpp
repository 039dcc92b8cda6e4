#pragma once
// RgbFrame: one decoded video frame, 8-bit RGB, row-major [height, width, 3] (the layout PIL
// and libjpeg give). The unit the video readers return and the spatial transforms take.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <cstdint>
#include <vector>

namespace ccl::data {

struct RgbFrame {
  Index height = 0;
  Index width = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3, row-major, RGB interleaved

  RgbFrame() = default;
  RgbFrame(Index height_, Index width_)
      : height(height_), width(width_), pixels(std::size_t(height_ * width_ * 3), 0) {
    require(height_ >= 0 && width_ >= 0, "RgbFrame: negative size ", height_, "x", width_);
  }

  bool empty() const { return pixels.empty(); }
  std::uint8_t& at(Index y, Index x, Index c) { return pixels[std::size_t((y * width + x) * 3 + c)]; }
  std::uint8_t at(Index y, Index x, Index c) const {
    return pixels[std::size_t((y * width + x) * 3 + c)];
  }
};

}  // namespace ccl::data
