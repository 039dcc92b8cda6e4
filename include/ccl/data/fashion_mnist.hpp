#pragma once
// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28×28 grey images of 10 clothing classes, 60,000
// for training and 10,000 for testing, as four gzipped IDX files. Debian's dataset-fashion-mnist
// installs them in /usr/share/datasets/fashion-mnist; CCL_FASHION_MNIST_DIR overrides that.

#include <ccl/core/error.hpp>
#include <ccl/data/idx.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace ccl::data {

/// Grey images with labels: pixels row-major [count, height, width], one label per image.
struct LabelledImages {
  Index count = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;

  const std::uint8_t* image(Index i) const {
    return pixels.data() + std::size_t(i * height * width);
  }
};

inline const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names = {"T-shirt/top", "Trouser", "Pullover",
                                                    "Dress",       "Coat",    "Sandal",
                                                    "Shirt",       "Sneaker", "Bag",
                                                    "Ankle boot"};
  return names;
}

/// CCL_FASHION_MNIST_DIR when set, else Debian's install location.
inline std::filesystem::path default_fashion_mnist_dir() {
  if (const char* dir = std::getenv("CCL_FASHION_MNIST_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return "/usr/share/datasets/fashion-mnist";
}

inline std::filesystem::path fashion_mnist_file(const std::filesystem::path& dir, bool train,
                                                bool labels) {
  return dir / (std::string(train ? "train" : "t10k") +
                (labels ? "-labels-idx1-ubyte.gz" : "-images-idx3-ubyte.gz"));
}

inline bool fashion_mnist_available(const std::filesystem::path& dir = default_fashion_mnist_dir()) {
  for (bool train : {true, false})
    for (bool labels : {true, false})
      if (!std::filesystem::is_regular_file(fashion_mnist_file(dir, train, labels))) return false;
  return true;
}

/// Pairs an IDX image file with its label file, checking ranks, counts and the label range.
inline LabelledImages load_idx_images(const std::filesystem::path& images_path,
                                      const std::filesystem::path& labels_path, int classes) {
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  require_idx_u8(images, 3, images_path.string(), "images");
  require_idx_u8(labels, 1, labels_path.string(), "labels");
  require(images.dims[0] == labels.dims[0], "'", images_path.string(), "' has ", images.dims[0],
          " images but '", labels_path.string(), "' has ", labels.dims[0], " labels");
  LabelledImages out;
  out.count = images.dims[0];
  out.height = images.dims[1];
  out.width = images.dims[2];
  out.pixels = images.data;
  out.labels.reserve(labels.data.size());
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    require(labels.data[i] < classes, "'", labels_path.string(), "': label ", int(labels.data[i]),
            " of item ", i, " is outside [0, ", classes, ")");
    out.labels.push_back(labels.data[i]);
  }
  return out;
}

/// The Fashion-MNIST training (60,000) or test (10,000) set, validated as 28×28 with 10 classes.
inline LabelledImages load_fashion_mnist(const std::filesystem::path& dir, bool train) {
  const auto images_path = fashion_mnist_file(dir, train, false);
  LabelledImages set = load_idx_images(images_path, fashion_mnist_file(dir, train, true), 10);
  require(set.height == 28 && set.width == 28, "'", images_path.string(),
          "': Fashion-MNIST images are 28x28, got ", set.height, "x", set.width);
  return set;
}

}  // namespace ccl::data
