#pragma once
// Teacher features in the official CCL folder layout (method.md §2.1, §2.5):
//
//   ROOT/CLASS/v_CLASS_gXX_cYY.npy     one 512-d float32 vector (or a T×512 matrix) per video
//
// * The class index is the position of CLASS in the sorted list of class folders (byte-wise,
//   case-sensitive, as Python's sorted(Path.iterdir()) in the official code).
// * UCF101 split 1 puts groups g01–g07 in the test split, g08–g25 in training.
// * An all-zero vector means "this video has no audio" (the official loader returns zeros for a
//   missing file; the features are post-ReLU, so a real one is never all zero).
//
// The scan is strict: a .npy whose name does not follow the pattern, or whose CLASS differs from
// its folder, is an error naming the file, so a mislabelled copy is found before training. The
// CLASS comparison ignores case because UCF101 itself spells HandstandPushups videos
// "v_HandStandPushups_...". Hidden files (".*") are ignored.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/npy.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ccl::data {

enum class Split : std::uint8_t { train = 0, test = 1 };

inline const char* to_string(Split split) { return split == Split::train ? "train" : "test"; }

/// One feature file of the layout.
struct FeatureFile {
  std::filesystem::path path;
  std::string class_name;  // the folder name
  int label = 0;           // index of class_name in the sorted class list
  int group = 0;           // XX of gXX
  int clip = 0;            // YY of cYY
  Split split = Split::train;
};

struct FeatureFolderOptions {
  Index dim = 512;          // feature width (PANNs Cnn14_emb512 / ResNet-34 pool: 512)
  int last_test_group = 7;  // groups 1..last_test_group are the test split (UCF101 split 1)
};

/// A labelled batch of features: rows of `features`, their labels, and which rows are missing
/// (all-zero) audio.
struct FeatureBatch {
  RowMatrix<float> features;
  std::vector<std::int32_t> labels;
  std::vector<std::uint8_t> missing;
};

/// True when every entry is exactly zero: the official "missing audio" marker.
inline bool is_missing_feature(const float* row, Index dim) {
  for (Index i = 0; i < dim; ++i)
    if (row[i] != 0.0f) return false;
  return true;
}

namespace detail {

inline bool two_digits(const std::string& text, std::size_t at, int& value) {
  if (at + 2 > text.size() || !std::isdigit(static_cast<unsigned char>(text[at])) ||
      !std::isdigit(static_cast<unsigned char>(text[at + 1])))
    return false;
  value = (text[at] - '0') * 10 + (text[at + 1] - '0');
  return true;
}

inline bool iequal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace detail

/// Parses "v_CLASS_gXX_cYY.npy" of folder `class_name`; ccl::error naming `path` otherwise.
inline FeatureFile parse_feature_file_name(const std::filesystem::path& path,
                                           const std::string& class_name, int label,
                                           const FeatureFolderOptions& options = {}) {
  const std::string name = path.filename().string();
  const std::string expected = "expected v_" + class_name + "_gXX_cYY.npy";
  // "_gXX_cYY.npy" is 12 characters; at least one character of CLASS precedes it.
  const bool shaped = name.size() > 2 + 12 && name.compare(0, 2, "v_") == 0 &&
                      name.compare(name.size() - 12, 2, "_g") == 0 &&
                      name.compare(name.size() - 8, 2, "_c") == 0 &&
                      name.compare(name.size() - 4, 4, ".npy") == 0;
  FeatureFile file;
  require(shaped && detail::two_digits(name, name.size() - 10, file.group) &&
              detail::two_digits(name, name.size() - 6, file.clip),
          "teacher features: bad file name '", path.string(), "': ", expected);
  const std::string stem_class = name.substr(2, name.size() - 14);
  require(detail::iequal(stem_class, class_name), "teacher features: '", path.string(),
          "' names class '", stem_class, "' but lies in the folder of class '", class_name, "'");
  require(file.group >= 1 && file.clip >= 1, "teacher features: '", path.string(),
          "': group and clip numbers start at 01");
  file.path = path;
  file.class_name = class_name;
  file.label = label;
  file.split = file.group <= options.last_test_group ? Split::test : Split::train;
  return file;
}

/// The listing of a teacher-feature folder: classes and files, with loaders.
class TeacherFeatureFolder {
 public:
  explicit TeacherFeatureFolder(const std::filesystem::path& root, FeatureFolderOptions options = {})
      : root_(root), options_(options) {
    namespace fs = std::filesystem;
    require(options.dim > 0, "teacher features: dim must be positive, got ", options.dim);
    require(fs::is_directory(root), "teacher features: '", root.string(),
            "' is not a directory");
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory() && entry.path().filename().string().front() != '.')
        classes_.push_back(entry.path().filename().string());
    std::sort(classes_.begin(), classes_.end());
    require(!classes_.empty(), "teacher features: '", root.string(), "' has no class folders");
    for (std::size_t label = 0; label < classes_.size(); ++label) {
      std::vector<fs::path> paths;
      for (const auto& entry : fs::directory_iterator(root / classes_[label])) {
        const std::string name = entry.path().filename().string();
        if (name.front() == '.') continue;
        require(entry.is_regular_file(), "teacher features: unexpected non-file '",
                entry.path().string(), "' in a class folder");
        paths.push_back(entry.path());
      }
      require(!paths.empty(), "teacher features: class folder '",
              (root / classes_[label]).string(), "' holds no .npy files");
      std::sort(paths.begin(), paths.end());
      for (const auto& path : paths)
        files_.push_back(parse_feature_file_name(path, classes_[label], int(label), options));
    }
  }

  const std::filesystem::path& root() const { return root_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<FeatureFile>& files() const { return files_; }

  std::vector<FeatureFile> files(Split split) const {
    std::vector<FeatureFile> selected;
    for (const auto& file : files_)
      if (file.split == split) selected.push_back(file);
    return selected;
  }

  /// One feature vector. A T×dim file gives one row: drawn from `rng` as the official loader
  /// does, or row 0 when rng is null (deterministic evaluation).
  Vector<float> load(const FeatureFile& file, Rng* rng = nullptr) const {
    const NpyArray array = read_npy(file.path);
    const Index dim = options_.dim;
    const bool vector = array.shape.size() == 1 && array.shape[0] == dim;
    const bool matrix = array.shape.size() == 2 && array.shape[1] == dim && array.shape[0] >= 1;
    require(vector || matrix, "teacher features: '", file.path.string(), "' has shape ",
            shape_string(array.shape), ", expected (", dim, ",) or (T, ", dim, ") with T >= 1");
    const Index rows = vector ? 1 : array.shape[0];
    const Index row = rng != nullptr && rows > 1 ? rng->index(rows) : 0;
    Vector<float> out(dim);
    for (Index i = 0; i < dim; ++i) {
      const float value = array.values[std::size_t(row * dim + i)];
      require(std::isfinite(value), "teacher features: '", file.path.string(),
              "' holds a non-finite value at row ", row, ", column ", i);
      out[i] = value;
    }
    return out;
  }

  /// Every file of a split as one batch (rows in listing order).
  FeatureBatch load_split(Split split, Rng* rng = nullptr) const {
    const auto selected = files(split);
    FeatureBatch batch;
    batch.features.resize(Index(selected.size()), options_.dim);
    for (std::size_t i = 0; i < selected.size(); ++i) {
      batch.features.row(Index(i)) = load(selected[i], rng).transpose();
      batch.labels.push_back(selected[i].label);
      batch.missing.push_back(
          is_missing_feature(batch.features.row(Index(i)).data(), options_.dim) ? 1 : 0);
    }
    return batch;
  }

 private:
  std::filesystem::path root_;
  FeatureFolderOptions options_;
  std::vector<std::string> classes_;
  std::vector<FeatureFile> files_;
};

}  // namespace ccl::data
