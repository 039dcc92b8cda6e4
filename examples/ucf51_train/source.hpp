#pragma once
// Ucf51Source: the UCF51 data of a run behind a small non-template interface — the layout, the
// clip dataset, the shuffled training epoch (Ucf51Epoch: the next batch is decoded on a
// background thread while the current one trains) and the evaluation streams (validation clips
// and test windows, also one batch ahead).
//
// Why a separate translation unit: clip decoding uses ccl::parallel_for, whose body depends on
// whether the unit is compiled with OpenMP; keeping every data call in source.cpp (compiled by the
// host compiler with OpenMP when found) means the CUDA unit never instantiates it.

#include "config.hpp"

#include <ccl/core/rng.hpp>
#include <ccl/data/ucf51_dataset.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ucf51_train {

enum class EvalKind { validation, test };

/// Rows [rank·B/R, (rank+1)·B/R) of a training batch of B rows (clips, labels, teacher features,
/// videos, draws): one rank's shard of the global batch under mpirun. R must divide B.
ccl::data::ClipBatch training_shard(const ccl::data::ClipBatch& global, int rank, int ranks);

class Ucf51Source {
 public:
  explicit Ucf51Source(const Config& config);
  ~Ucf51Source();
  Ucf51Source(const Ucf51Source&) = delete;
  Ucf51Source& operator=(const Ucf51Source&) = delete;

  const std::vector<std::string>& class_names() const;
  Index classes() const { return Index(class_names().size()); }
  bool has_image_features() const;
  Index train_videos() const;
  Index test_videos() const;
  /// A few lines on the layout (counts, missing audio), for the log.
  std::string summary() const;

  /// Starts a shuffled epoch of training batches (draws one number from `rng`).
  void start_epoch(Index batch_size, ccl::Rng& rng);
  Index epoch_batches() const;
  bool epoch_done() const;
  ccl::data::ClipBatch next_training_batch();

  /// Starts a pass over the test split: validation clips (≤ 3 per video) or test windows, in
  /// batches of at most `max_clips` clips; a batch's `videos` names each row's video.
  void start_evaluation(EvalKind kind, Index max_clips);
  bool evaluation_done() const;
  ccl::data::ClipBatch next_evaluation_batch();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucf51_train
