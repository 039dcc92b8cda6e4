#pragma once
// Modality policies: Audio (rank 1), Image (rank 2), Video (rank 3). A modality fixes the layout
// of its raw input, [N, C, L], [N, C, H, W] or [N, C, T, H, W] (tensor rank = spatial rank + 2),
// and names itself in logs and errors. Branches of a pipeline are tagged with the modality of
// their teacher, so a wrongly wired teacher (an image network on an audio branch) is a compile
// error.

#include <type_traits>

namespace ccl {

struct Audio {
  static constexpr int spatial_rank = 1;
  static constexpr int tensor_rank = 3;
  static constexpr const char* name = "audio";
  static constexpr const char* layout = "[N, C, L]";
};

struct Image {
  static constexpr int spatial_rank = 2;
  static constexpr int tensor_rank = 4;
  static constexpr const char* name = "image";
  static constexpr const char* layout = "[N, C, H, W]";
};

struct Video {
  static constexpr int spatial_rank = 3;
  static constexpr int tensor_rank = 5;
  static constexpr const char* name = "video";
  static constexpr const char* layout = "[N, C, T, H, W]";
};

template <class M>
inline constexpr bool is_modality_v =
    std::is_same_v<M, Audio> || std::is_same_v<M, Image> || std::is_same_v<M, Video>;

}  // namespace ccl
