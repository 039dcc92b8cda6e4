#pragma once
// Short synthetic video clips of one grey item (Moving-MNIST style, Srivastava et al. 2015):
// the item drifts and bounces inside the canvas, zooms in or out, may be mirrored, may be hidden
// in part by a sliding bar (occlusion), over a noisy background. Used by the tri-modal benchmark
// so that the video student sees the same object classes as the image teacher, but through
// motion, scale change and occlusion the teacher never trained on. render_frame is public so a
// teacher can be trained on single frames of the same geometry.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ccl::data {

/// Everything random about one clip, drawn once per clip.
struct ClipMotion {
  double scale0 = 1, scale1 = 1;  // item size relative to its native size, first/last frame
  double x0 = 0, y0 = 0;          // item centre in canvas pixels at frame 0
  double vx = 0, vy = 0;          // pixels per frame (reflected at the borders)
  bool flip = false;              // mirror left-right
  bool occluded = false;          // a vertical bar slides across the clip
  double bar_x0 = 0, bar_vx = 0, bar_width = 0;
  std::uint8_t bar_value = 0;
  double noise = 0;  // background noise standard deviation in grey levels
};

/// Draws a clip's motion: scale 0.65–1.05 zooming by a factor 0.75–1.33 over the clip, speed
/// 0.5–2 px/frame, mirror with p = 0.5, occluding bar with p = occlusion_probability.
inline ClipMotion random_motion(Rng& rng, int frames, int height, int width,
                                double occlusion_probability = 0.5) {
  require(frames >= 1 && height >= 8 && width >= 8, "random_motion: need frames >= 1 and a canvas "
          "of at least 8x8, got ", frames, " frames of ", height, "x", width);
  ClipMotion m;
  m.scale0 = rng.uniform(0.65, 1.05);
  m.scale1 = std::clamp(m.scale0 * std::exp(rng.uniform(std::log(0.75), std::log(1.33))), 0.5, 1.15);
  m.x0 = rng.uniform(0.35, 0.65) * width;
  m.y0 = rng.uniform(0.35, 0.65) * height;
  const double speed = rng.uniform(0.5, 2.0), angle = rng.uniform(0.0, 2 * 3.14159265358979323846);
  m.vx = speed * std::cos(angle);
  m.vy = speed * std::sin(angle);
  m.flip = rng.uniform() < 0.5;
  m.occluded = rng.uniform() < occlusion_probability;
  m.bar_width = rng.uniform(0.15, 0.3) * width;
  m.bar_x0 = rng.uniform(0.0, double(width));
  m.bar_vx = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(1.0, 3.0);
  m.bar_value = std::uint8_t(rng.index(160) + 40);
  m.noise = rng.uniform(0.0, 12.0);
  return m;
}

/// Position reflected into [low, high] (a ball bouncing between two walls).
inline double reflect(double x, double low, double high) {
  const double span = high - low;
  if (span <= 0) return low;
  double t = std::fmod(x - low, 2 * span);
  if (t < 0) t += 2 * span;
  return low + (t <= span ? t : 2 * span - t);
}

/// Draws `item` (item_h × item_w grey) centred at (cx, cy), scaled, optionally mirrored, onto a
/// black height × width canvas by bilinear sampling.
inline void render_frame(const std::uint8_t* item, int item_h, int item_w, double cx, double cy,
                         double scale, bool flip, std::uint8_t* out, int height, int width) {
  require(scale > 0, "render_frame: scale must be positive, got ", scale);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      // Pixel centre → item coordinates (pixel centres at integer + 0.5).
      double u = (x + 0.5 - cx) / scale + item_w / 2.0 - 0.5;
      const double v = (y + 0.5 - cy) / scale + item_h / 2.0 - 0.5;
      if (flip) u = item_w - 1 - u;
      double value = 0;
      if (u > -1 && v > -1 && u < item_w && v < item_h) {
        const int u0 = int(std::floor(u)), v0 = int(std::floor(v));
        const double fu = u - u0, fv = v - v0;
        const auto at = [&](int r, int c) -> double {
          return r < 0 || c < 0 || r >= item_h || c >= item_w ? 0.0 : item[r * item_w + c];
        };
        value = (1 - fv) * ((1 - fu) * at(v0, u0) + fu * at(v0, u0 + 1)) +
                fv * ((1 - fu) * at(v0 + 1, u0) + fu * at(v0 + 1, u0 + 1));
      }
      out[y * width + x] = std::uint8_t(std::lround(std::clamp(value, 0.0, 255.0)));
    }
  }
}

/// Renders frame `t` (of a clip of `frames` frames) of `item` following `motion` into
/// out[height × width]; background noise is drawn from `rng`. A teacher trained on single frames
/// of the clips' geometry calls this with a random t (render_clip calls it for every t).
inline void render_clip_frame(const std::uint8_t* item, int item_h, int item_w,
                              const ClipMotion& motion, int t, int frames, int height, int width,
                              Rng& rng, std::uint8_t* frame) {
  require(t >= 0 && t < frames, "render_clip_frame: frame ", t, " is outside [0, ", frames, ")");
  const double progress = frames > 1 ? double(t) / (frames - 1) : 0.0;
  const double scale = motion.scale0 + (motion.scale1 - motion.scale0) * progress;
  // The centre may leave the canvas by up to 15 % of the item, never entirely.
  const double mx = 0.35 * item_w * scale, my = 0.35 * item_h * scale;
  const double cx = reflect(motion.x0 + motion.vx * t, mx, width - mx);
  const double cy = reflect(motion.y0 + motion.vy * t, my, height - my);
  render_frame(item, item_h, item_w, cx, cy, scale, motion.flip, frame, height, width);
  if (motion.occluded) {
    const double left = reflect(motion.bar_x0 + motion.bar_vx * t, -motion.bar_width / 2,
                                width - motion.bar_width / 2);
    for (int x = std::max(0, int(std::lround(left)));
         x < std::min(width, int(std::lround(left + motion.bar_width))); ++x)
      for (int y = 0; y < height; ++y) frame[y * width + x] = motion.bar_value;
  }
  if (motion.noise > 0)
    for (int i = 0; i < height * width; ++i)
      frame[i] = std::uint8_t(
          std::lround(std::clamp(frame[i] + rng.normal(0.0, motion.noise), 0.0, 255.0)));
}

/// Renders `frames` frames of `item` following `motion` into out[frames × height × width].
/// Background noise is drawn from `rng`.
inline void render_clip(const std::uint8_t* item, int item_h, int item_w, const ClipMotion& motion,
                        int frames, int height, int width, Rng& rng, std::uint8_t* out) {
  for (int t = 0; t < frames; ++t)
    render_clip_frame(item, item_h, item_w, motion, t, frames, height, width, rng,
                      out + std::size_t(t) * std::size_t(height * width));
}

}  // namespace ccl::data
