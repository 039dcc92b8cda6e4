#pragma once
// Figures of the retrieval experiment (Figures 1 and 2 of the paper, in spirit):
//   nearest-<method>.png  for a few test clips (rows), the query's middle frame followed by the
//                         middle frames of its 5 nearest fit clips under the student's
//                         embedding; a green frame marks a neighbour of the query's class, red
//                         one of another class.
// The Recall@K curves and the per-epoch training curves are drawn from the JSON record by
// plot_table1.py (matplotlib).

#include "report.hpp"

#include <ccl/data/benchmark.hpp>

#include <png.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace table1 {

namespace detail {

struct Rgb {
  std::uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(Index width, Index height) : width_(width), height_(height), pixels_(std::size_t(width * height * 3), 255) {}

  void set(Index x, Index y, Rgb c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::uint8_t* p = pixels_.data() + std::size_t((y * width_ + x) * 3);
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }

  // A grey frame scaled by `scale`, with a coloured border of `border` pixels.
  void frame(const std::uint8_t* grey, Index h, Index w, Index x0, Index y0, Index scale, Rgb border,
             Index border_px) {
    const Index outer_w = w * scale + 2 * border_px, outer_h = h * scale + 2 * border_px;
    for (Index y = 0; y < outer_h; ++y)
      for (Index x = 0; x < outer_w; ++x) set(x0 + x, y0 + y, border);
    for (Index y = 0; y < h * scale; ++y) {
      for (Index x = 0; x < w * scale; ++x) {
        const std::uint8_t v = grey[(y / scale) * w + x / scale];
        set(x0 + border_px + x, y0 + border_px + y, {v, v, v});
      }
    }
  }

  void write(const std::filesystem::path& path) const {
    std::FILE* file = std::fopen(path.string().c_str(), "wb");
    if (file == nullptr) throw ccl::error("table1: cannot write " + path.string());
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (png == nullptr || info == nullptr || setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      std::fclose(file);
      throw ccl::error("table1: libpng failed to write " + path.string());
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, png_uint_32(width_), png_uint_32(height_), 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (Index y = 0; y < height_; ++y) {
      png_write_row(png, const_cast<png_bytep>(pixels_.data() + std::size_t(y * width_ * 3)));
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
  }

 private:
  Index width_, height_;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace detail

/// `gallery`: the clips the student fitted (the retrieval gallery), `test`: the query clips.
inline void write_plots(const std::filesystem::path& dir, const Results& results,
                        const ccl::data::ClipSet& gallery, const ccl::data::ClipSet& test,
                        const std::vector<Method>& methods, Mode mode) {
  std::filesystem::create_directories(dir);
  const Index scale = 3, border = 2;
  const Index cell_w = test.width * scale + 2 * border + 6, cell_h = test.height * scale + 2 * border + 6;
  const Index middle = test.frames / 2;
  const auto queries = figure_queries(test.count);
  for (Method m : methods) {
    const CellResult* cell = nullptr;
    for (const auto& c : results.cells())
      if (c.method == m && (m == Method::baseline || c.mode == mode) && cell == nullptr) cell = &c;
    if (cell == nullptr || cell->neighbours.size() != queries.size()) continue;
    const Index k = cell->neighbours.empty() ? 0 : Index(cell->neighbours.front().size());
    detail::Canvas canvas((k + 1) * cell_w + 10, Index(queries.size()) * cell_h);
    const auto frame_of = [&](const ccl::data::ClipSet& set, Index clip) {
      return set.clip(clip) + middle * set.height * set.width;
    };
    for (std::size_t r = 0; r < queries.size(); ++r) {
      const Index q = queries[r], y = Index(r) * cell_h;
      canvas.frame(frame_of(test, q), test.height, test.width, 0, y, scale, {40, 40, 200}, border);
      for (Index j = 0; j < k; ++j) {
        const Index g = cell->neighbours[r][std::size_t(j)];
        const bool same = gallery.labels[std::size_t(g)] == test.labels[std::size_t(q)];
        canvas.frame(frame_of(gallery, g), gallery.height, gallery.width, 10 + (j + 1) * cell_w, y,
                     scale, same ? detail::Rgb{30, 170, 60} : detail::Rgb{210, 40, 40}, border);
      }
    }
    canvas.write(dir / ("nearest-" + std::string(to_string(m)) + ".png"));
  }
}

}  // namespace table1
