#pragma once
// Trainer: epochs of shuffled mini-batches through a Pipeline, evaluation (top-1/top-5), progress
// on the terminal, a JSON-lines log and a checkpoint after every epoch from which a run resumes
// bit-identically (parameters, batch-norm statistics, optimiser state, schedules, the shuffling
// generator and the epoch counter are all saved; see docs/checkpoints.md).
//
//   Trainer trainer(pipeline, sgd, options);
//   trainer.add_scheduler(schedule);                 // stepped after every epoch, checkpointed
//   trainer.fit(train_set, &test_set);
//
// A dataset is any type with
//   Index size() const;
//   Batch load(const std::vector<Index>& indices) const;
// where Batch has `input` (the student's input), `labels` (anything a LabelView converts from)
// and `teacher_inputs`, a std::tuple with one entry per branch in branch order. Optionally
//   void prefetch(const std::vector<Index>& next_indices) const;
// is called with the next batch's indices just before each training step, so a dataset that
// decodes videos can load batch k+1 on another thread while the step of batch k runs.
//
// With a device pipeline (ccl::cuda) the dataset's batches carry device inputs (the dataset
// decides when and how to upload); the trainer itself only copies each batch's logits to the
// host for the accuracy counts.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/metrics/accuracy.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/pipeline/json_lines.hpp>
#include <ccl/pipeline/progress.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace ccl::pipeline {

struct TrainerOptions {
  Index epochs = 1;
  Index batch_size = 16;
  /// Seeds the generator that shuffles the training set.
  std::uint64_t seed = 1;
  bool shuffle = true;
  /// Top-k accuracies reported by evaluate (Table 1 uses top-1; VGGSound also top-5).
  std::vector<Index> top_k{1, 5};
  ProgressStyle progress = ProgressStyle::automatic;
  /// Append one JSON object per epoch to this file ("" = no log).
  std::string log_path;
  /// Save a checkpoint here after every epoch ("" = none); written atomically.
  std::string checkpoint_path;
  /// Continue from checkpoint_path when it exists.
  bool resume = true;
};

struct EvalReport {
  double loss = 0;  ///< mean student cross-entropy
  std::vector<Index> ks;
  std::vector<double> accuracy;  ///< accuracy[j] = top-ks[j], in [0, 1]
  Index samples = 0;

  double top(Index k) const {
    for (std::size_t j = 0; j < ks.size(); ++j)
      if (ks[j] == k) return accuracy[j];
    return std::numeric_limits<double>::quiet_NaN();
  }
};

struct EpochReport {
  Index epoch = 0;         ///< 1-based
  double loss = 0;         ///< mean student objective over the epoch's batches
  double accuracy = 0;     ///< training top-1 (on the augmented batches, as seen during training)
  EvalReport eval;         ///< empty when no evaluation set was given
  double seconds = 0;
  double samples_per_second = 0;
};

namespace detail {
template <class Set, class = void>
struct has_prefetch : std::false_type {};
template <class Set>
struct has_prefetch<Set, std::void_t<decltype(std::declval<const Set&>().prefetch(
                             std::declval<const std::vector<Index>&>()))>> : std::true_type {};
}  // namespace detail

template <class Pipeline, class Optimizer>
class Trainer {
 public:
  using Scalar = typename Pipeline::Scalar;
  using Backend = typename Pipeline::Backend;

  Trainer(Pipeline& pipeline, Optimizer& optimizer, TrainerOptions options)
      : pipeline_(pipeline), optimizer_(optimizer), options_(std::move(options)),
        rng_(options_.seed), progress_(options_.progress) {
    require(options_.epochs >= 0, "Trainer: epochs must be >= 0, got ", options_.epochs);
    require(options_.batch_size >= 1, "Trainer: batch_size must be >= 1, got ",
            options_.batch_size);
    pipeline_.for_each_trainable_module(
        [&](const std::string& name, auto& module) { checkpoint_.add_module(name, module); });
    checkpoint_.add_optimizer("optimizer", optimizer_).add_rng("shuffle", rng_).add_counter("epoch",
                                                                                          epoch_);
  }

  // The checkpoint holds references to this object's generator and counter: not copyable or
  // movable (C++17 guaranteed elision still allows `auto t = Trainer(...)`).
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// A learning-rate schedule stepped after every epoch; its state goes into the checkpoint.
  template <class Policy>
  Trainer& add_scheduler(optim::Scheduler<Policy>& scheduler) {
    schedulers_.push_back([&scheduler] { scheduler.step(); });
    checkpoint_.add_scheduler("schedule." + std::to_string(schedulers_.size()), scheduler);
    return *this;
  }

  /// Called after every epoch, once the schedulers have stepped and the checkpoint is written,
  /// with that epoch's report: per-epoch bookkeeping the Trainer does not do itself (evaluating
  /// a further set, keeping the best epoch's metrics). Callbacks run in the order added.
  Trainer& add_epoch_callback(std::function<void(const EpochReport&)> callback) {
    require(bool(callback), "Trainer::add_epoch_callback: the callback is empty");
    epoch_callbacks_.push_back(std::move(callback));
    return *this;
  }

  /// Trains until `options.epochs` epochs are done (resuming from the checkpoint when there is
  /// one), evaluating on `eval` after every epoch when given. Returns this call's epochs.
  template <class TrainSet, class EvalSet = TrainSet>
  std::vector<EpochReport> fit(const TrainSet& train, const EvalSet* eval = nullptr) {
    require(train.size() > 0, "Trainer::fit: the training set is empty");
    if (options_.resume && !options_.checkpoint_path.empty() && file_exists(options_.checkpoint_path)) {
      checkpoint_.load(options_.checkpoint_path);
    }
    std::vector<EpochReport> reports;
    while (epoch_ < options_.epochs) {
      EpochReport report = train_epoch(train);
      if (eval != nullptr) report.eval = evaluate(*eval);
      for (auto& step : schedulers_) step();
      ++epoch_;
      progress_.end_epoch(report.loss, report.accuracy,
                          eval != nullptr ? report.eval.top(1) : -1.0, report.seconds);
      log(report);
      if (!options_.checkpoint_path.empty()) checkpoint_.save(options_.checkpoint_path);
      for (auto& callback : epoch_callbacks_) callback(report);
      reports.push_back(std::move(report));
    }
    return reports;
  }

  /// Student cross-entropy and top-k accuracy over a dataset, in inference mode, in order.
  template <class EvalSet>
  EvalReport evaluate(const EvalSet& data) {
    require(data.size() > 0, "Trainer::evaluate: the evaluation set is empty");
    metrics::TopKAccuracy accuracy(options_.top_k);
    double loss = 0;
    std::vector<Index> indices;
    for (Index first = 0; first < data.size(); first += options_.batch_size) {
      indices.resize(std::size_t(std::min(options_.batch_size, data.size() - first)));
      std::iota(indices.begin(), indices.end(), first);
      const auto batch = data.load(indices);
      const EmbeddingView<const Scalar, Backend> logits = pipeline_.predict(batch.input);
      loss += double(ce_.accumulate(logits, batch.labels, Scalar(1), {})) * double(logits.rows());
      accuracy.add(host_view(logits, host_logits_), batch.labels);
    }
    EvalReport report;
    report.samples = accuracy.count();
    report.loss = loss / double(report.samples);
    report.ks = options_.top_k;
    for (Index k : report.ks) report.accuracy.push_back(accuracy.accuracy(k));
    return report;
  }

  /// Epochs completed so far (restored by resume).
  Index epoch() const { return epoch_; }
  io::Checkpoint& checkpoint() { return checkpoint_; }
  const TrainerOptions& options() const { return options_; }

 private:
  template <class TrainSet>
  EpochReport train_epoch(const TrainSet& train) {
    const auto start = std::chrono::steady_clock::now();
    order_.resize(std::size_t(train.size()));
    std::iota(order_.begin(), order_.end(), Index(0));
    if (options_.shuffle) rng_.shuffle(order_);
    progress_.start_epoch(epoch_ + 1, options_.epochs, train.size());

    double loss_sum = 0;
    Index batches = 0, seen = 0, correct = 0;
    std::vector<Index> indices;
    for (Index first = 0; first < train.size(); first += options_.batch_size) {
      const Index count = std::min(options_.batch_size, train.size() - first);
      indices.assign(order_.begin() + first, order_.begin() + first + count);
      const auto batch = train.load(indices);
      if constexpr (detail::has_prefetch<TrainSet>::value) {
        const Index next = first + count;
        if (next < train.size()) {
          next_indices_.assign(order_.begin() + next,
                               order_.begin() + std::min(next + options_.batch_size, train.size()));
          train.prefetch(next_indices_);
        }
      }
      pipeline_.set_batch_indices(indices);
      optimizer_.zero_grad();
      const auto result = std::apply(
          [&](const auto&... teacher_inputs) {
            return pipeline_.step(batch.input, batch.labels, teacher_inputs...);
          },
          batch.teacher_inputs);
      optimizer_.step();
      require(std::isfinite(double(result.student_objective)),
              "Trainer: the loss became ", double(result.student_objective), " at epoch ",
              epoch_ + 1, ", batch ", batches + 1, " (lower the learning rate?)");
      loss_sum += double(result.student_objective);
      ++batches;
      correct += count_correct(host_view(result.logits, host_logits_), batch.labels);
      seen += count;
      progress_.update(seen, loss_sum / double(batches), double(correct) / double(seen),
                       seconds_since(start));
    }
    EpochReport report;
    report.epoch = epoch_ + 1;
    report.loss = loss_sum / double(batches);
    report.accuracy = double(correct) / double(seen);
    report.seconds = seconds_since(start);
    report.samples_per_second = report.seconds > 0 ? double(seen) / report.seconds : 0.0;
    return report;
  }

  static Index count_correct(const EmbeddingView<const Scalar>& logits, LabelView labels) {
    Index correct = 0;
    const auto m = logits.matrix();
    for (Index i = 0; i < m.rows(); ++i) {
      Index best = 0;
      m.row(i).maxCoeff(&best);
      correct += best == labels[i];
    }
    return correct;
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  static bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

  void log(const EpochReport& report) const {
    if (options_.log_path.empty()) return;
    JsonLine line;
    line.add("epoch", report.epoch)
        .add("loss", report.loss)
        .add("train_top1", report.accuracy)
        .add("seconds", report.seconds)
        .add("samples_per_second", report.samples_per_second);
    if (report.eval.samples > 0) {
      line.add("eval_loss", report.eval.loss);
      for (std::size_t j = 0; j < report.eval.ks.size(); ++j) {
        line.add("eval_top" + std::to_string(report.eval.ks[j]), report.eval.accuracy[j]);
      }
    }
    std::ofstream out(options_.log_path, std::ios::app);
    out << line.str() << '\n';
    require(bool(out), "Trainer: cannot append to the log file '", options_.log_path, "'");
  }

  Pipeline& pipeline_;
  Optimizer& optimizer_;
  TrainerOptions options_;
  Rng rng_;
  Index epoch_ = 0;
  io::Checkpoint checkpoint_;
  Progress progress_;
  std::vector<std::function<void()>> schedulers_;
  std::vector<std::function<void(const EpochReport&)>> epoch_callbacks_;
  std::vector<Index> order_;
  std::vector<Index> next_indices_;
  loss::CrossEntropy<Scalar, Backend> ce_;
  RowMatrix<Scalar> host_logits_;  // device logits copied for the accuracy counts
};

}  // namespace ccl::pipeline
