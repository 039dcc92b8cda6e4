#pragma once
// UCF51 on disk (method.md §2.1, §2.4, §2.5, §2.7): the join of three folder trees that share
// the official CLASS/v_CLASS_gXX_cYY naming.
//
//   VIDEO_ROOT/CLASS/v_CLASS_gXX_cYY.hdf5     the official storage (dataset `video` of JPEG
//                                              frames), or .h5, or
//   VIDEO_ROOT/CLASS/v_CLASS_gXX_cYY/         a directory image_00001.jpg, image_00002.jpg, ...
//   AUDIO_ROOT/CLASS/v_CLASS_gXX_cYY.npy      PANNs Cnn14_emb512 feature, (512,) or (T, 512)
//   IMAGE_ROOT/CLASS/v_CLASS_gXX_cYY.npy      optional: image-teacher features, one row per
//                                              frame, (n_frames, 512) (tools/extract_image_features.py)
//
// * Classes and labels come from the audio folders, sorted byte-wise (the official
//   sorted(audio_dir.iterdir())): for UCF51 the 51 names of ucf51_class_names(), label = index.
//   VIDEO_ROOT may hold all 101 UCF101 classes; only the audio classes are used.
// * Split 1 of UCF101 by group: g01–g07 test, g08–g25 train (4,893 / 1,944 videos for UCF51).
// * A video is an entry of the video tree; a video without an audio file gets the all-zero
//   vector (the official missing-audio marker); an audio file without a video is skipped, as the
//   official loader skips a missing video (audio_without_video() lists them).
// * The official image teacher is an ImageNet ResNet-34 run on one frame of the augmented clip.
//   No pretrained weights ship with ccl, so the image teacher is read as precomputed per-frame
//   features: row i − 1 of the file belongs to frame i. When IMAGE_ROOT is given every video
//   needs its file.
// * When both VIDEO.hdf5 and a frame directory VIDEO/ exist (an interrupted official conversion
//   leaves both), the HDF5 file is used.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/teacher_features.hpp>
#include <ccl/data/video/video_frames.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ccl::data {

/// The 51 UCF101 classes with an audio track, sorted as the official code sorts them.
inline const std::vector<std::string>& ucf51_class_names() {
  static const std::vector<std::string> names = {
      "ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "BalanceBeam",
      "BandMarching", "BasketballDunk", "BlowDryHair", "BlowingCandles", "BodyWeightSquats",
      "Bowling", "BoxingPunchingBag", "BoxingSpeedBag", "BrushingTeeth", "CliffDiving",
      "CricketBowling", "CricketShot", "CuttingInKitchen", "FieldHockeyPenalty",
      "FloorGymnastics", "FrisbeeCatch", "FrontCrawl", "Haircut", "HammerThrow", "Hammering",
      "HandstandPushups", "HandstandWalking", "HeadMassage", "IceDancing", "Knitting", "LongJump",
      "MoppingFloor", "ParallelBars", "PlayingCello", "PlayingDaf", "PlayingDhol",
      "PlayingFlute", "PlayingSitar", "Rafting", "ShavingBeard", "Shotput", "SkyDiving",
      "SoccerPenalty", "StillRings", "SumoWrestling", "Surfing", "TableTennisShot", "Typing",
      "UnevenBars", "WallPushups", "WritingOnBoard"};
  return names;
}

struct Ucf51Options {
  Index feature_dim = 512;             // audio and image feature width
  int last_test_group = 7;             // UCF101 split 1
  bool require_ucf51_classes = true;   // the audio folders must be exactly the 51 classes
};

struct Ucf51Video {
  std::string id;          // v_CLASS_gXX_cYY
  std::string class_name;  // the folder name
  int label = 0;
  int group = 0;
  int clip = 0;
  Split split = Split::train;
  std::filesystem::path video;  // .hdf5/.h5 file or frame directory
  std::filesystem::path audio;  // empty: no audio feature (all-zero vector)
  std::filesystem::path image;  // empty: no image root
};

namespace detail {

inline std::string lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Parses the video id "v_CLASS_gXX_cYY" of an entry of class folder `class_name`.
inline bool parse_video_id(const std::string& id, const std::string& class_name, int& group,
                           int& clip) {
  // "_gXX_cYY" is 8 characters; at least one character of CLASS precedes it.
  if (id.size() <= 2 + 8 || id.compare(0, 2, "v_") != 0 || id.compare(id.size() - 8, 2, "_g") != 0 ||
      id.compare(id.size() - 4, 2, "_c") != 0)
    return false;
  if (!two_digits(id, id.size() - 6, group) || !two_digits(id, id.size() - 2, clip)) return false;
  return iequal(id.substr(2, id.size() - 10), class_name) && group >= 1 && clip >= 1;
}

}  // namespace detail

class Ucf51Layout {
 public:
  Ucf51Layout(const std::filesystem::path& video_root, const std::filesystem::path& audio_root,
              const std::filesystem::path& image_root = {}, Ucf51Options options = {})
      : options_(options),
        audio_(audio_root, FeatureFolderOptions{options.feature_dim, options.last_test_group}) {
    namespace fs = std::filesystem;
    if (options.require_ucf51_classes)
      require(audio_.classes() == ucf51_class_names(), "UCF51: the audio feature folder '",
              audio_root.string(), "' has ", audio_.classes().size(),
              " class folders that are not the 51 UCF51 classes (first: '",
              audio_.classes().front(), "'); set Ucf51Options::require_ucf51_classes = false "
              "for another class list");
    require(fs::is_directory(video_root), "UCF51: the video root '", video_root.string(),
            "' is not a directory");
    std::map<std::string, fs::path> audio_by_id;
    for (const auto& file : audio_.files())
      audio_by_id.emplace(detail::lower(file.path.stem().string()), file.path);

    for (std::size_t label = 0; label < audio_.classes().size(); ++label)
      scan_class(video_root, audio_.classes()[label], int(label), audio_by_id, image_root);

    std::map<std::string, bool> has_video;
    for (const auto& video : videos_) has_video[detail::lower(video.id)] = true;
    for (const auto& [id, path] : audio_by_id)
      if (!has_video.count(id)) audio_without_video_.push_back(path);
    require(!videos_.empty(), "UCF51: no videos found under '", video_root.string(), "'");
  }

  const std::vector<std::string>& classes() const { return audio_.classes(); }
  const std::vector<Ucf51Video>& videos() const { return videos_; }
  const Ucf51Options& options() const { return options_; }
  bool has_image_features() const { return !videos_.front().image.empty(); }
  const std::vector<std::filesystem::path>& audio_without_video() const {
    return audio_without_video_;
  }

  /// Positions in videos() of the videos of one split (listing order: class, then name).
  std::vector<Index> indices(Split split) const {
    std::vector<Index> out;
    for (std::size_t i = 0; i < videos_.size(); ++i)
      if (videos_[i].split == split) out.push_back(Index(i));
    return out;
  }

  /// Videos without an audio file (given the all-zero vector).
  Index missing_audio_count(Split split) const {
    Index count = 0;
    for (const auto& video : videos_) count += video.split == split && video.audio.empty();
    return count;
  }

  /// The audio feature of a video: the all-zero vector without a file; a (T, 512) file gives
  /// one row, drawn from `rng` as the official loader does, or row 0 without one.
  Vector<float> audio_feature(const Ucf51Video& video, Rng* rng = nullptr) const {
    if (video.audio.empty()) return Vector<float>::Zero(options_.feature_dim);
    FeatureFile file;
    file.path = video.audio;
    file.class_name = video.class_name;
    file.label = video.label;
    return audio_.load(file, rng);
  }

  /// The per-frame image-teacher features of a video with `frames` frames: [frames, dim], row
  /// i − 1 for frame i.
  RowMatrix<float> image_features(const Ucf51Video& video, Index frames) const {
    require(!video.image.empty(), "UCF51: no image-teacher features for '", video.id,
            "' (no image root was given)");
    const NpyArray array = read_npy(video.image);
    const Index dim = options_.feature_dim;
    require(array.shape.size() == 2 && array.shape[0] == frames && array.shape[1] == dim,
            "image features: '", video.image.string(), "' has shape ", shape_string(array.shape),
            ", expected [", frames, ", ", dim, "]: one row per frame of '", video.video.string(),
            "'");
    RowMatrix<float> out(frames, dim);
    for (Index i = 0; i < out.size(); ++i) {
      const float value = array.values[std::size_t(i)];
      require(std::isfinite(value), "image features: '", video.image.string(),
              "' holds a non-finite value at row ", i / dim, ", column ", i % dim);
      out.data()[i] = value;
    }
    return out;
  }

 private:
  void scan_class(const std::filesystem::path& video_root, const std::string& class_name, int label,
                  const std::map<std::string, std::filesystem::path>& audio_by_id,
                  const std::filesystem::path& image_root) {
    namespace fs = std::filesystem;
    const fs::path folder = video_root / class_name;
    require(fs::is_directory(folder), "UCF51: no video folder '", folder.string(),
            "' for class '", class_name, "' (the class list comes from the audio features)");
    std::map<std::string, fs::path> entries;  // id -> path, HDF5 preferred over a directory
    for (const auto& entry : fs::directory_iterator(folder)) {
      const std::string name = entry.path().filename().string();
      if (name.front() == '.') continue;
      std::string id;
      if (entry.is_directory()) {
        id = name;
      } else if (entry.is_regular_file() && is_hdf5_video_name(entry.path())) {
        id = entry.path().stem().string();
      } else {
        continue;  // raw .avi files or notes next to the converted videos
      }
      Ucf51Video video;
      require(detail::parse_video_id(id, class_name, video.group, video.clip), "UCF51: '",
              entry.path().string(), "' is not named v_", class_name,
              "_gXX_cYY(.hdf5 | .h5 | /) as a video of class '", class_name, "'");
      auto found = entries.find(id);
      if (found == entries.end() || !entry.is_directory()) entries[id] = entry.path();
    }
    for (const auto& [id, path] : entries) {
      Ucf51Video video;
      detail::parse_video_id(id, class_name, video.group, video.clip);
      video.id = id;
      video.class_name = class_name;
      video.label = label;
      video.split = video.group <= options_.last_test_group ? Split::test : Split::train;
      video.video = path;
      const auto audio = audio_by_id.find(detail::lower(id));
      if (audio != audio_by_id.end()) video.audio = audio->second;
      if (!image_root.empty()) {
        video.image = image_root / class_name / (id + ".npy");
        require(fs::is_regular_file(video.image), "UCF51: missing image-teacher features '",
                video.image.string(), "' for video '", path.string(),
                "' (tools/extract_image_features.py writes them)");
      }
      videos_.push_back(std::move(video));
    }
  }

  Ucf51Options options_;
  TeacherFeatureFolder audio_;
  std::vector<Ucf51Video> videos_;
  std::vector<std::filesystem::path> audio_without_video_;
};

}  // namespace ccl::data
