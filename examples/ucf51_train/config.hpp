#pragma once
// The settings of a ucf51_train run and the result of one Table 1 cell. Plain types shared by the
// translation units of the program: the host-only ones (options, data, JSON) and the one per
// backend that instantiates the training template (train.hpp).

#include <ccl/core/types.hpp>
#include <ccl/pipeline/progress.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace ucf51_train {

using ccl::Index;

/// Table 1's rows that run on both backends. The other baselines (FitNet ... CMC) are CPU-only
/// pipeline objectives for now (docs/pipeline.md, "On the GPU").
enum class Method { baseline, ccl };
/// Table 1's columns: the teachers distilled from. The baseline uses none.
enum class Mode { none, audio, image, both };

inline const char* to_string(Method m) { return m == Method::baseline ? "baseline" : "CCL"; }
inline const char* to_string(Mode m) {
  switch (m) {
    case Mode::none: return "none";
    case Mode::audio: return "A";
    case Mode::image: return "I";
    case Mode::both: return "AI";
  }
  return "?";
}

struct Config {
  // Data (ccl/data/ucf51_layout.hpp).
  std::filesystem::path videos, audio, image;
  bool any_classes = false;       ///< accept a layout that is not exactly the 51 UCF51 classes
  Index feature_dim = 512;        ///< audio and image features; = the student's embedding size
  Index frames = 16, size = 112;  ///< clips: 3 x frames x size x size
  int threads = 0;                ///< clip-decoding threads (0: OpenMP's default)
  bool prefetch = true;           ///< load the next batch while the current one trains

  // Model and objective (method.md §3.1, §4.6).
  std::string student = "official";  ///< "official" (14.4 M parameters) or "narrow"
  std::vector<Method> methods{Method::baseline, Method::ccl};
  std::vector<Mode> modes{Mode::audio, Mode::image, Mode::both};

  // Optimisation (method.md §5): SGD on two groups, MultiStep on the student's only.
  Index epochs = 300;
  Index batch_size = 16;
  double lr = 1e-3, head_lr = 1e-3, momentum = 0.9, weight_decay = 5e-4;
  std::vector<Index> milestones{150, 225};
  double gamma = 0.1;
  std::uint64_t seed = 1;
  /// Train on whole batches only: an epoch's last, incomplete batch is skipped. What R > 1 ranks
  /// always do (every shard must have the same shape), so that one process can reproduce them.
  bool drop_last = false;

  // Evaluation.
  Index eval_batch = 48;           ///< clips per inference batch (validation and test)
  std::string test_model = "best"; ///< "best" (official: best validation epoch), "last", "both"

  // Backend and output.
  std::string backend = "auto";    ///< "auto", "cpu" or "cuda"
  bool tf32 = false;               ///< CUDA: allow TF32 tensor-core products
  std::filesystem::path out = "ucf51-run";
  bool resume = true;
  ccl::pipeline::ProgressStyle progress = ccl::pipeline::ProgressStyle::automatic;
};

/// One epoch as logged (cell directory, log.jsonl).
struct EpochRecord {
  Index epoch = 0;
  double loss = 0, train_top1 = 0, val_top1 = 0, val_loss = 0, lr = 0;
  double seconds = 0, data_wait_seconds = 0, val_seconds = 0;
};

struct CellResult {
  Method method = Method::baseline;
  Mode mode = Mode::none;
  std::string backend;
  Index epochs = 0;       ///< epochs trained in total (including resumed ones)
  Index best_epoch = 0;   ///< 1-based; the epoch of the best validation top-1
  double test_top1 = std::numeric_limits<double>::quiet_NaN();       ///< of `test_model`
  double test_top1_best = std::numeric_limits<double>::quiet_NaN();  ///< best-epoch model
  double test_top1_last = std::numeric_limits<double>::quiet_NaN();  ///< last-epoch model
  Index test_videos = 0, test_windows = 0;
  Index student_parameters = 0, head_parameters = 0;
  double seconds = 0;     ///< this invocation's wall clock for the cell
};

/// The directory of one cell's checkpoints, log and result.
inline std::filesystem::path cell_dir(const Config& c, Method m, Mode mode) {
  return c.out / (m == Method::baseline ? std::string("baseline")
                                        : std::string("ccl-") + to_string(mode));
}

}  // namespace ucf51_train
