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

/// A labelled batch of features: rows of `features`, their labels, which rows are missing
/// (all-zero) audio, and the file each row came from (its path, class, group and clip), so that
/// a split or a report never has to rely on the order of the rows.
struct FeatureBatch {
  RowMatrix<float> features;
  std::vector<std::int32_t> labels;
  std::vector<std::uint8_t> missing;
  std::vector<FeatureFile> files;  ///< files[i] is the source of row i

  Index rows() const { return features.rows(); }

  /// The rows at `indices`, in that order (a copy), e.g. one side of split_by_group.
  FeatureBatch subset(const std::vector<Index>& indices) const {
    FeatureBatch out;
    out.features.resize(Index(indices.size()), features.cols());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const Index i = indices[k];
      require(i >= 0 && i < rows(), "FeatureBatch::subset: index ", i, " is outside [0, ", rows(),
              ")");
      out.features.row(Index(k)) = features.row(i);
      out.labels.push_back(labels[std::size_t(i)]);
      out.missing.push_back(missing[std::size_t(i)]);
      if (!files.empty()) out.files.push_back(files[std::size_t(i)]);
    }
    return out;
  }
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

/// A folder inside a class folder. The common cause is a root one level too high (the release's
/// archive unpacks to e.g. "features/audio/CLASS/..." and the user passes "features"): then the
/// nested folder holds .npy files of the layout, and the error names the folder to pass instead.
inline void reject_nested_layout(const std::filesystem::path& root, const std::string& class_name,
                                 const std::filesystem::path& nested) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  bool holds_features = false;
  for (auto it = fs::directory_iterator(nested, ignored); !ignored && it != fs::directory_iterator();
       it.increment(ignored)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 6 && name.compare(0, 2, "v_") == 0 &&
        name.compare(name.size() - 4, 4, ".npy") == 0) {
      holds_features = true;
      break;
    }
  }
  require(!holds_features, "teacher features: '", root.string(),
          "' looks like the folder above the class folders: '", nested.string(),
          "' is a class folder of .npy features; pass '", (root / class_name).string(),
          "' (the folder whose subfolders are the classes) instead");
  throw error(ccl::detail::concat("teacher features: unexpected folder '", nested.string(),
                                  "' in class folder '", (root / class_name).string(),
                                  "' (a class folder holds only v_CLASS_gXX_cYY.npy files)"));
}

/// A root without subfolders. When it holds feature files itself, it is one class folder (a root
/// one level too low): say so and name the folder to pass.
inline void reject_class_folder_as_root(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    require(!(entry.is_regular_file() && name.size() > 6 && name.compare(0, 2, "v_") == 0 &&
              name.compare(name.size() - 4, 4, ".npy") == 0),
            "teacher features: '", root.string(), "' holds feature files such as '", name,
            "' but no class folders: it looks like one class folder; pass its parent '",
            fs::absolute(root).lexically_normal().parent_path().string(),
            "' (the folder whose subfolders are the classes) instead");
  }
  throw error(ccl::detail::concat("teacher features: '", root.string(), "' has no class folders"));
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
    if (classes_.empty()) detail::reject_class_folder_as_root(root);
    for (std::size_t label = 0; label < classes_.size(); ++label) {
      std::vector<fs::path> paths;
      for (const auto& entry : fs::directory_iterator(root / classes_[label])) {
        const std::string name = entry.path().filename().string();
        if (name.front() == '.') continue;
        if (entry.is_directory()) detail::reject_nested_layout(root, classes_[label], entry.path());
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
  FeatureBatch load_split(Split split, Rng* rng = nullptr) const { return load_files(files(split), rng); }

  /// The given files as one batch, row i from selected[i] (e.g. one side of split_by_group).
  FeatureBatch load_files(const std::vector<FeatureFile>& selected, Rng* rng = nullptr) const {
    FeatureBatch batch;
    batch.features.resize(Index(selected.size()), options_.dim);
    batch.files = selected;
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
