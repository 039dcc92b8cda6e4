#pragma once
// A tiny UCF51-style layout for tests and smoke runs: 3 classes x 4 videos of moving colour bars
// stored as frame directories of PNG frames, the audio features (the last video of each class has none: the missing-audio case) and per-frame
// image-teacher features, all `dim` wide and class-dependent so that a teacher carries signal.
//
//   ROOT/videos/CLASS/v_CLASS_gXX_cYY/image_00001.png ...   groups 01 (test) and 08, 12, 20 (train)
//   ROOT/audio/CLASS/v_CLASS_gXX_cYY.npy                     (dim,)
//   ROOT/image/CLASS/v_CLASS_gXX_cYY.npy                     (frames, dim)
//
// Shared by the examples' smoke tests (ucf51_inspect --self-test, ucf51_train --synthetic).

#include <ccl/core/types.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/video/frame.hpp>
#include <ccl/data/video/image_codec.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace ccl_examples {

struct SyntheticLayout {
  std::filesystem::path videos, audio, image;
};

inline SyntheticLayout write_synthetic_layout(const std::filesystem::path& root, ccl::Index dim) {
  namespace fs = std::filesystem;
  using ccl::Index;
  const std::vector<std::string> classes = {"Archery", "Bowling", "Typing"};
  static const char* groups[] = {"01", "08", "12", "20"};  // g01: test; the rest: train
  fs::remove_all(root);
  SyntheticLayout layout{root / "videos", root / "audio", root / "image"};
  for (std::size_t c = 0; c < classes.size(); ++c) {
    for (int v = 0; v < 4; ++v) {
      const std::string id = "v_" + classes[c] + "_g" + groups[v] + "_c01";
      const fs::path dir = layout.videos / classes[c] / id;
      fs::create_directories(dir);
      const int frames = 12 + 5 * v;
      for (int t = 1; t <= frames; ++t) {
        ccl::data::RgbFrame frame(48, 64);
        for (Index y = 0; y < 48; ++y)
          for (Index x = 0; x < 64; ++x) {
            const bool bar = ((x + 3 * t) / 8) % 2 == 0;
            frame.at(y, x, Index(c)) = bar ? 220 : 40;
            frame.at(y, x, Index((c + 1) % 3)) = std::uint8_t(y * 4);
          }
        char name[32];
        std::snprintf(name, sizeof name, "image_%05d.png", t);
        ccl::data::write_png(dir / name, frame);
      }
      if (v != 3) {  // the last video of each class has no audio
        fs::create_directories(layout.audio / classes[c]);
        std::vector<float> feature(static_cast<std::size_t>(dim));
        for (Index j = 0; j < dim; ++j) feature[std::size_t(j)] = float(j % 3 == Index(c)) + 0.1f * float(v);
        ccl::data::write_npy(layout.audio / classes[c] / (id + ".npy"), {dim}, feature.data());
      }
      fs::create_directories(layout.image / classes[c]);
      std::vector<float> features(static_cast<std::size_t>(frames * dim));
      for (int t = 0; t < frames; ++t)
        for (Index j = 0; j < dim; ++j)
          features[std::size_t(t * dim + j)] = float((j + 1) % 3 == Index(c)) + 0.01f * float(t);
      ccl::data::write_npy(layout.image / classes[c] / (id + ".npy"), {Index(frames), dim},
                           features.data());
    }
  }
  return layout;
}

}  // namespace ccl_examples
