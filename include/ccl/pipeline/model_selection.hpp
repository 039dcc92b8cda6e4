#pragma once
// Model selection for the Trainer (TrainerOptions::selection): which validation figure decides the
// best epoch, when an epoch improves on the best, and when training stops early. ModelSelector is
// the decision and its state (best epoch, best score, epochs without improvement), which goes into
// the checkpoint so that a resumed run selects exactly as an uninterrupted one; keeping and
// writing the best weights stays with the Trainer, which owns the files and the ranks.
//
//   ModelSelector selector(options.selection, options.top_k);   // checks the options
//   selector.add_state_to(checkpoint);                           // only when selecting
//   if (selector.improves(eval_report, epoch)) { /* keep this epoch's weights */ }
//   while (... && !selector.stopped_early()) ...

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/io/checkpoint.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ccl::pipeline {

/// What model selection compares between epochs (higher accuracy or lower loss is better).
enum class SelectBy {
  none,      ///< no selection: fit() ends with the last epoch's weights
  accuracy,  ///< validation top-k accuracy, k = ModelSelection::k
  loss,      ///< validation cross-entropy
};

struct ModelSelection {
  SelectBy metric = SelectBy::none;
  /// The k of top-k accuracy when metric == SelectBy::accuracy; must be one of
  /// TrainerOptions::top_k.
  Index k = 1;
  /// Stop after this many consecutive epochs without improvement (0: never stop early).
  Index patience = 0;
  /// An epoch improves on the best only by more than this (accuracy as a fraction, loss in nats).
  double min_improvement = 0;
  /// Load the best epoch's weights (parameters and batch-norm statistics) when fit() ends.
  bool restore_best = true;
};

class ModelSelector {
 public:
  /// Checks the options; `top_k` are the accuracies the evaluations report.
  ModelSelector(const ModelSelection& options, const std::vector<Index>& top_k)
      : options_(options) {
    if (!active()) return;
    require(options.metric != SelectBy::accuracy ||
                std::find(top_k.begin(), top_k.end(), options.k) != top_k.end(),
            "Trainer: model selection by top-", options.k,
            " accuracy needs that k in TrainerOptions::top_k");
    require(options.patience >= 0, "Trainer: selection.patience must be >= 0, got ",
            options.patience);
    require(std::isfinite(options.min_improvement) && options.min_improvement >= 0,
            "Trainer: selection.min_improvement must be finite and >= 0, got ",
            options.min_improvement);
  }
  ModelSelector(const ModelSelector&) = delete;  // add_state_to hands out references
  ModelSelector& operator=(const ModelSelector&) = delete;

  bool active() const { return options_.metric != SelectBy::none; }
  const ModelSelection& options() const { return options_; }

  /// Registers the state in `checkpoint`. Only a selecting run stores it, so checkpoints of runs
  /// without selection keep their sections (and stay loadable by such runs).
  void add_state_to(io::Checkpoint& checkpoint) {
    if (!active()) return;
    checkpoint.add_counter("selection.best_epoch", best_epoch_)
        .add_value("selection.best_score", best_score_)
        .add_counter("selection.epochs_without_improvement", stale_epochs_);
  }

  /// Whether `epoch`'s evaluation (anything with top(k) and loss, e.g. EvalReport) improves on
  /// the best so far; it becomes the best when it does. A NaN score is an error naming the epoch.
  template <class Evaluation>
  bool improves(const Evaluation& eval, Index epoch) {
    // Scores are kept as "higher is better": the loss is negated.
    const bool by_accuracy = options_.metric == SelectBy::accuracy;
    const double score = by_accuracy ? eval.top(options_.k) : -eval.loss;
    require(!std::isnan(score), "Trainer: the validation ", by_accuracy ? "accuracy" : "loss",
            " is NaN at epoch ", epoch);
    if (best_epoch_ != 0 && !(score > best_score_ + options_.min_improvement)) {
      ++stale_epochs_;
      return false;
    }
    best_epoch_ = epoch;
    best_score_ = score;
    stale_epochs_ = 0;
    return true;
  }

  /// The best epoch so far (1-based; 0 before the first evaluation) and its score (the accuracy,
  /// or the loss, of SelectBy).
  Index best_epoch() const { return best_epoch_; }
  double best_score() const {
    return options_.metric == SelectBy::loss ? -best_score_ : best_score_;
  }
  /// Whether `patience` epochs passed without improvement.
  bool stopped_early() const {
    return active() && options_.patience > 0 && stale_epochs_ >= options_.patience;
  }

 private:
  ModelSelection options_;
  Index best_epoch_ = 0;
  double best_score_ = -std::numeric_limits<double>::infinity();
  Index stale_epochs_ = 0;
};

}  // namespace ccl::pipeline
