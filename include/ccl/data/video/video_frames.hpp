#pragma once
// VideoFrames: the frames of one video, from either source users have:
//
//   VIDEO.hdf5 (or .h5)    the official storage: dataset `video` of JPEG byte strings
//                          (ccl/data/video/hdf5_video.hpp)
//   VIDEO/                 a directory of extracted frames image_00001.jpg, image_00002.jpg, ...
//                          (ffmpeg's `image_%05d.jpg`, the official extraction step before HDF5;
//                          .png frames are accepted too)
//
// Frames are 1-based in both (method.md §2.4). A frame directory must be numbered 1..n without
// gaps: the official loader silently drops a missing frame, which shortens clips unnoticed, so
// here a gap is an error naming the first missing file.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/data/video/frame.hpp>
#include <ccl/data/video/hdf5_video.hpp>
#include <ccl/data/video/image_codec.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ccl::data {

/// True for the file names of an HDF5 video (.hdf5, .h5).
inline bool is_hdf5_video_name(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".hdf5" || extension == ".h5";
}

namespace detail {

// "image_00012.jpg" -> 12; -1 for any other name.
inline Index frame_file_number(const std::string& name) {
  const std::string prefix = "image_";
  const std::size_t dot = name.rfind('.');
  if (name.compare(0, prefix.size(), prefix) != 0 || dot == std::string::npos) return -1;
  std::string extension = name.substr(dot);
  for (char& c : extension) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (extension != ".jpg" && extension != ".jpeg" && extension != ".png") return -1;
  const std::string digits = name.substr(prefix.size(), dot - prefix.size());
  if (digits.empty() || digits.size() > 9) return -1;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
  return Index(std::stol(digits));
}

}  // namespace detail

class VideoFrames {
 public:
  /// Opens `path`: an HDF5 video file, or a directory of image_NNNNN.jpg frames.
  explicit VideoFrames(const std::filesystem::path& path) : path_(path) {
    namespace fs = std::filesystem;
    require(fs::exists(path), "video '", path.string(), "': no such file or directory");
    if (fs::is_directory(path)) {
      std::vector<std::pair<Index, fs::path>> numbered;
      for (const auto& entry : fs::directory_iterator(path)) {
        const Index number = detail::frame_file_number(entry.path().filename().string());
        if (number >= 0 && entry.is_regular_file()) numbered.emplace_back(number, entry.path());
      }
      std::sort(numbered.begin(), numbered.end());
      require(!numbered.empty(), "video '", path.string(),
              "': the directory holds no frames named image_00001.jpg, image_00002.jpg, ...");
      for (std::size_t i = 0; i < numbered.size(); ++i) {
        if (i > 0)  // (require evaluates its message parts eagerly: guard the [i - 1])
          require(numbered[i].first != numbered[i - 1].first, "video '", path.string(),
                "': frame ", numbered[i].first, " appears twice (",
                numbered[i - 1].second.filename().string(), ", ",
                numbered[i].second.filename().string(), ")");
        require(numbered[i].first == Index(i) + 1, "video '", path.string(), "': frame ",
                Index(i) + 1, " is missing (the frames must be numbered 1..n without gaps; ",
                "found ", numbered[i].second.filename().string(), " next)");
        files_.push_back(numbered[i].second);
      }
      frames_ = Index(files_.size());
    } else {
      hdf5_ = std::make_shared<Hdf5Video>(path);
      frames_ = hdf5_->frame_count();
    }
  }

  const std::filesystem::path& path() const { return path_; }
  Index frame_count() const { return frames_; }
  bool is_hdf5() const { return hdf5_ != nullptr; }

  /// The encoded bytes of frame `index` (1-based).
  Bytes frame_bytes(Index index) const {
    require(index >= 1 && index <= frames_, "video '", path_.string(), "': frame ", index,
            " out of range: frames are numbered 1 to ", frames_);
    if (hdf5_) return hdf5_->frame_bytes(index);
    return read_file(files_[std::size_t(index - 1)]);
  }

  /// (height, width) of frame `index` from its image header (no decoding).
  std::pair<Index, Index> frame_size(Index index) const {
    const Bytes bytes = frame_bytes(index);
    return image_size(bytes.data(), bytes.size(), frame_source(index));
  }

  /// Frame `index` (1-based), decoded to RGB.
  RgbFrame frame(Index index) const {
    return decode_image(frame_bytes(index), frame_source(index));
  }

  /// How errors name frame `index`: "video.hdf5, frame 12" or the frame's file.
  std::string frame_source(Index index) const {
    if (hdf5_ || index < 1 || index > frames_)
      return ccl::detail::concat(path_.string(), ", frame ", index);
    return files_[std::size_t(index - 1)].string();
  }

 private:
  std::filesystem::path path_;
  Index frames_ = 0;
  std::shared_ptr<Hdf5Video> hdf5_;  // shared: VideoFrames stays copyable
  std::vector<std::filesystem::path> files_;
};

}  // namespace ccl::data
