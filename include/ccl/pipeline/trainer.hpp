#pragma once
// Trainer: epochs of shuffled mini-batches through a Pipeline, evaluation (top-1/top-5), progress
// on the terminal, a JSON-lines log and a checkpoint after every epoch from which a run resumes
// bit-identically (parameters, batch-norm statistics, optimiser state, schedules, the shuffling
// generator and the epoch counter are all saved; see docs/checkpoints.md).
//
//   Trainer trainer(pipeline, sgd, options);
//   trainer.add_scheduler(schedule);                 // stepped after every epoch, checkpointed
//   trainer.fit(train_set, &validation_set);
//
// Model selection (TrainerOptions::selection): with a metric set, every epoch's evaluation on the
// validation set is compared with the best so far; the best epoch's weights are kept (in memory,
// and next to the checkpoint when there is one), training stops early after `patience` epochs
// without improvement, and fit() returns with the best weights restored. The selection state is
// part of the checkpoint, so a resumed run selects exactly as an uninterrupted one.
//
// A dataset is any type with
//   Index size() const;
//   Batch load(const std::vector<Index>& indices) const;
// where Batch has `input` (the student's input), `labels` (anything a LabelView converts from)
// and, when the pipeline has branches, `teacher_inputs`: a std::tuple with one entry per branch in
// branch order (a pipeline without branches, e.g. a probe on features, needs none). Optionally
//   void prefetch(const std::vector<Index>& next_indices) const;
// is called with the next batch's indices just before each training step, so a dataset that
// decodes videos can load batch k+1 on another thread while the step of batch k runs.
//
// With a device pipeline (ccl::cuda) the dataset's batches carry device inputs (the dataset
// decides when and how to upload); the trainer itself only copies each batch's logits to the
// host for the accuracy counts.
//
// Data-parallel training (docs/distributed.md): pass a communicator (ccl::dist::mpi, ...) as the
// fourth constructor argument and run one process per rank.
//
//   Trainer trainer(pipeline, sgd, options, comm);   // options.batch_size: rows per rank
//
// Every rank draws the same shuffled epoch order and takes its shard of each global batch of
// R·batch_size rows (dist::DistributedSampler::shard; an incomplete last global batch is dropped,
// see TrainerOptions::drop_last); parameter gradients are averaged over ranks after each backward
// (dist::average_gradients); training loss and accuracy are reduced over ranks every step, and
// evaluate() splits the evaluation set between ranks and reduces its counts, so every rank holds
// the global figures. Progress, the log, the checkpoint and the ".best" file are written by rank
// 0 only; a checkpoint is read by rank 0 and broadcast, so it resumes on any rank count (keep
// R·batch_size fixed for the same global batches). With R ranks the result equals one process
// with batch R·batch_size when the branches' objectives see the global batch
// (dist::GlobalObjective) and the student's BatchNorms are synchronised
// (dist::SyncBatchNormNd). fit() and evaluate() are collective: every rank calls them. Without a
// communicator (dist::single) nothing of this runs and the Trainer behaves as a 1-process one.
// A device pipeline (ccl::cuda) trains the same way over dist::nccl (gradients and the global
// batch all-reduced/gathered in device memory; flags, metrics and checkpoint bytes through its
// MPI bootstrap) or over dist::mpi (device data staged through the host). dist::SyncBatchNormNd is
// host-only: a device student keeps per-rank BatchNorm statistics (docs/distributed.md).

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>
#include <ccl/dist/gradients.hpp>
#include <ccl/dist/rank_zero.hpp>
#include <ccl/dist/sampler.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/io/atomic_file.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/metrics/accuracy.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/pipeline/json_lines.hpp>
#include <ccl/pipeline/model_selection.hpp>
#include <ccl/pipeline/progress.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
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
  /// Best-epoch tracking, early stopping and restoring the best weights (needs a validation set).
  /// With a checkpoint_path, the best weights are also saved to checkpoint_path + ".best".
  ModelSelection selection;
  /// Drop the last batch of an epoch when it is smaller than batch_size (on R ranks, the last
  /// global batch smaller than R·batch_size is always dropped, so that shards are equal: set this
  /// in a 1-process run that must reproduce an R-rank one).
  bool drop_last = false;
};

struct EvalReport {
  double loss = 0;  ///< mean student cross-entropy
  std::vector<Index> ks;
  std::vector<double> accuracy;  ///< accuracy[j] = top-ks[j], in [0, 1]
  Index samples = 0;

  /// Top-k accuracy; a ccl::error for a k that was not tracked (TrainerOptions::top_k) or for an
  /// empty report (no evaluation set was given to fit), like metrics::TopKAccuracy.
  double top(Index k) const {
    require(samples > 0, "EvalReport::top: this report is empty (no evaluation set was given)");
    for (std::size_t j = 0; j < ks.size(); ++j)
      if (ks[j] == k) return accuracy[j];
    throw error(ccl::detail::concat("EvalReport::top: k = ", k,
                                    " was not tracked; add it to TrainerOptions::top_k"));
  }
};

struct EpochReport {
  Index epoch = 0;      ///< 1-based
  double loss = 0;      ///< mean student objective over the epoch's batches
  double accuracy = 0;  ///< training top-1 (on the augmented batches, as seen during training)
  EvalReport eval;      ///< empty when no evaluation set was given
  double seconds = 0;
  double samples_per_second = 0;
  bool best = false;  ///< with model selection: this epoch is the best so far
};

namespace detail {
template <class Batch, class = void>
struct has_teacher_inputs : std::false_type {};
template <class Batch>
struct has_teacher_inputs<Batch, std::void_t<decltype(std::declval<const Batch&>().teacher_inputs)>>
    : std::true_type {};

template <class Set, class = void>
struct has_prefetch : std::false_type {};
template <class Set>
struct has_prefetch<Set, std::void_t<decltype(std::declval<const Set&>().prefetch(
                             std::declval<const std::vector<Index>&>()))>> : std::true_type {};
}  // namespace detail

template <class Pipeline, class Optimizer, class Comm = dist::single>
class Trainer {
  CCL_STATIC_ASSERT_COMMUNICATOR(Comm);

 public:
  using Scalar = typename Pipeline::Scalar;
  using Backend = typename Pipeline::Backend;

  /// One process (no communicator).
  Trainer(Pipeline& pipeline, Optimizer& optimizer, TrainerOptions options)
      : Trainer(pipeline, optimizer, std::move(options), single_) {
    static_assert(std::is_same_v<Comm, dist::single>,
                  "ccl::pipeline::Trainer: a Trainer over a communicator takes it as the fourth "
                  "constructor argument");
  }

  /// Data-parallel over `comm`'s ranks (see the header comment); `comm` must outlive the Trainer.
  Trainer(Pipeline& pipeline, Optimizer& optimizer, TrainerOptions options, Comm& comm)
      : pipeline_(pipeline),
        optimizer_(optimizer),
        comm_(&comm),
        options_(std::move(options)),
        rng_(options_.seed),
        selector_(options_.selection, options_.top_k),
        progress_(comm.rank() == 0 ? options_.progress : ProgressStyle::none) {
    require(options_.epochs >= 0, "Trainer: epochs must be >= 0, got ", options_.epochs);
    require(options_.batch_size >= 1, "Trainer: batch_size must be >= 1, got ",
            options_.batch_size);
    require(!options_.top_k.empty(), "Trainer: top_k must name at least one k");
    for (Index k : options_.top_k) require(k >= 1, "Trainer: every top_k must be >= 1, got ", k);
    pipeline_.for_each_trainable_module([&](const std::string& name, auto& module) {
      checkpoint_.add_module(name, module);
      best_weights_.add_module(name, module);
    });
    checkpoint_.add_optimizer("optimizer", optimizer_)
        .add_rng("shuffle", rng_)
        .add_counter("epoch", epoch_);
    selector_.add_state_to(checkpoint_);
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
  /// one), evaluating on `eval` after every epoch when given. Returns this call's epochs. With
  /// model selection, `eval` is the validation set (required), training may stop early, and the
  /// best epoch's weights are in place when fit returns (selection.restore_best).
  template <class TrainSet, class EvalSet = TrainSet>
  std::vector<EpochReport> fit(const TrainSet& train, const EvalSet* eval = nullptr) {
    require(train.size() > 0, "Trainer::fit: the training set is empty");
    require(!selecting() || eval != nullptr,
            "Trainer::fit: model selection needs a validation set: pass it as fit's second "
            "argument (or set options.selection.metric = SelectBy::none)");
    if (options_.resume && !options_.checkpoint_path.empty() &&
        rank_zero_agrees(file_exists(options_.checkpoint_path))) {
      load_checkpoint();
      if (selecting() && best_epoch() > 0) load_best_weights_file();
    }
    std::vector<EpochReport> reports;
    while (epoch_ < options_.epochs && !stopped_early()) {
      EpochReport report = train_epoch(train);
      if (eval != nullptr) report.eval = evaluate(*eval);
      for (auto& step : schedulers_) step();
      ++epoch_;
      if (selecting()) report.best = select(report.eval);
      progress_.end_epoch(report.loss, report.accuracy, options_.top_k.front(),
                          eval != nullptr ? report.eval.accuracy.front() : -1.0, report.seconds);
      on_rank_zero("write the log and the checkpoint", [&] {
        log(report);
        if (!options_.checkpoint_path.empty()) checkpoint_.save(options_.checkpoint_path);
      });
      for (auto& callback : epoch_callbacks_) callback(report);
      reports.push_back(std::move(report));
    }
    if (selecting() && options_.selection.restore_best && best_epoch() > 0) {
      best_weights_.from_bytes(best_weights_bytes_, "the best epoch's weights");
    }
    return reports;
  }

  /// With model selection: the best epoch so far (1-based; 0 before the first evaluation) and its
  /// score (the accuracy, or the loss, of SelectBy).
  Index best_epoch() const { return selector_.best_epoch(); }
  double best_score() const { return selector_.best_score(); }
  /// Whether training stopped because `patience` epochs passed without improvement.
  bool stopped_early() const { return selector_.stopped_early(); }
  /// The path the best epoch's weights are saved to ("" without a checkpoint_path): a checkpoint
  /// holding the trainable modules only, loadable with io::Checkpoint::add_module.
  std::string best_weights_path() const {
    return options_.checkpoint_path.empty() ? std::string() : options_.checkpoint_path + ".best";
  }

  /// Student cross-entropy and top-k accuracy over a dataset, in inference mode, in order. On R
  /// ranks each evaluates a contiguous 1/R of the set and the counts are summed (collective).
  template <class EvalSet>
  EvalReport evaluate(const EvalSet& data) {
    require(data.size() > 0, "Trainer::evaluate: the evaluation set is empty");
    adopt_execution();
    const Index ranks = comm_->size(), rank = comm_->rank();
    // Inference communicates nothing (a synchronised BatchNorm uses its running statistics), so
    // shards may differ by one sample and a rank may have none.
    const Index begin = data.size() * rank / ranks, end = data.size() * (rank + 1) / ranks;
    metrics::TopKAccuracy accuracy(options_.top_k);
    double loss = 0;
    std::vector<Index> indices;
    for (Index first = begin; first < end; first += options_.batch_size) {
      indices.resize(std::size_t(std::min(options_.batch_size, end - first)));
      std::iota(indices.begin(), indices.end(), first);
      const auto batch = data.load(indices);
      const EmbeddingView<const Scalar, Backend> logits = pipeline_.predict(batch.input);
      loss += double(ce_.accumulate(logits, batch.labels, Scalar(1), {})) * double(logits.rows());
      accuracy.add(host_view(logits, host_logits_, pipeline_.execution()), batch.labels);
    }
    EvalReport report;
    report.ks = options_.top_k;
    if (ranks == 1) {
      report.samples = accuracy.count();
      report.loss = loss / double(report.samples);
      for (Index k : report.ks) report.accuracy.push_back(accuracy.accuracy(k));
      return report;
    }
    // (loss sum, samples, hits per k) over ranks. TopKAccuracy exposes fractions: hits are
    // recovered exactly by rounding fraction · count (counts far below 2^52).
    std::vector<double> sums{loss, double(accuracy.count())};
    for (Index k : report.ks)
      sums.push_back(accuracy.count() == 0
                         ? 0.0
                         : double(std::llround(accuracy.accuracy(k) * double(accuracy.count()))));
    sums = agreed_sums(std::move(sums));
    report.samples = Index(std::llround(sums[1]));
    report.loss = sums[0] / sums[1];
    for (std::size_t j = 0; j < report.ks.size(); ++j)
      report.accuracy.push_back(sums[2 + j] / sums[1]);
    return report;
  }

  /// Runs the pipeline, and the Trainer's own work on it (the optimiser's updates, the gradient
  /// averaging, the evaluation loss, a device communicator's collectives), with `execution`
  /// (core/execution.hpp). Without this call the Trainer follows the pipeline's execution.
  void set_execution(const Execution<Backend>& execution) {
    pipeline_.set_execution(execution);
    adopt_execution();
  }

  /// Epochs completed so far (restored by resume).
  Index epoch() const { return epoch_; }
  /// The communicator (dist::single without one).
  Comm& communicator() { return *comm_; }
  io::Checkpoint& checkpoint() { return checkpoint_; }
  const TrainerOptions& options() const { return options_; }

 private:
  bool selecting() const { return selector_.active(); }

  /// Compares this epoch with the best so far; keeps its weights when it is better.
  bool select(const EvalReport& eval) {
    if (!selector_.improves(eval, epoch_)) return false;
    best_weights_bytes_ = best_weights_.to_bytes();
    if (!options_.checkpoint_path.empty()) {
      on_rank_zero("write the best weights", [&] {
        io::write_file_atomically(best_weights_path(), best_weights_bytes_, "Trainer");
      });
    }
    return true;
  }

  /// A resumed run's best weights: saved next to the checkpoint by the run that selected them.
  void load_best_weights_file() {
    const std::string path = best_weights_path();
    std::vector<std::uint8_t> bytes;
    on_rank_zero("read the best weights", [&] {
      require(file_exists(path), "Trainer: the checkpoint '", options_.checkpoint_path,
              "' says epoch ", best_epoch(), " was the best, but its weights file '", path,
              "' is missing");
      bytes = io::read_file(path, "Trainer");
    });
    broadcast_bytes(bytes);
    io::parse_checkpoint(bytes, path);  // validates framing and checksum now, not at the end
    best_weights_bytes_ = std::move(bytes);
  }

  /// Rank 0 reads the checkpoint and every rank loads its bytes: no shared file system needed,
  /// and every rank validates the same bytes, so a bad file is an error on every rank.
  void load_checkpoint() {
    if (comm_->size() == 1) {
      checkpoint_.load(options_.checkpoint_path);
      return;
    }
    std::vector<std::uint8_t> bytes;
    on_rank_zero("read the checkpoint",
                 [&] { bytes = io::read_file(options_.checkpoint_path, "load_checkpoint"); });
    broadcast_bytes(bytes);
    checkpoint_.from_bytes(bytes, options_.checkpoint_path);
  }

  // The pipeline's execution for the parts the Trainer drives itself: they must queue on the
  // stream the pipeline's gradients and logits are produced on.
  void adopt_execution() {
    const Execution<Backend>& execution = pipeline_.execution();
    set_executions(execution, optimizer_, average_gradients_, ce_);
    if constexpr (std::is_same_v<dist::memory_space_t<Comm>, Backend> &&
                  !std::is_same_v<Backend, cpu>) {
      comm_->set_execution(execution);
    }
  }

  /// The communicator of host data (flags, metrics, checkpoint bytes): comm_ itself, or the MPI
  /// communicator a device one (dist::nccl) was bootstrapped from.
  auto& host_comm() { return dist::host_communicator(*comm_); }

  bool rank_zero_agrees(bool mine) { return dist::rank_zero_value(host_comm(), mine); }
  template <class Body>
  void on_rank_zero(const char* what, Body&& body) {
    dist::on_rank_zero(host_comm(), "Trainer", what, std::forward<Body>(body));
  }
  void broadcast_bytes(std::vector<std::uint8_t>& bytes) {
    dist::broadcast_bytes(host_comm(), bytes);
  }
  std::vector<double> agreed_sums(std::vector<double> values) {
    return dist::agreed_sums(host_comm(), std::move(values));
  }

  /// The trainable parameters (the student's, then the heads' and objectives'), for
  /// dist::average_gradients.
  struct TrainableParameters {
    using backend_type = Backend;
    Pipeline* pipeline;
    template <class Visit>
    void for_each_parameter(Visit&& visit) {
      pipeline->for_each_student_parameter(visit);
      pipeline->for_each_head_parameter(visit);
    }
  };

  template <class TrainSet>
  EpochReport train_epoch(const TrainSet& train) {
    const auto start = std::chrono::steady_clock::now();
    order_.resize(std::size_t(train.size()));
    std::iota(order_.begin(), order_.end(), Index(0));
    if (options_.shuffle) rng_.shuffle(order_);
    adopt_execution();
    const Index ranks = comm_->size(), global_batch = options_.batch_size * ranks;
    // The rows this epoch trains on: all of them, or (R ranks, drop_last) whole global batches.
    const Index used = ranks == 1 && !options_.drop_last
                           ? train.size()
                           : train.size() / global_batch * global_batch;
    require(used > 0, "Trainer::fit: ", train.size(), " training samples cannot fill one ",
            ranks == 1 ? "batch" : "global batch", " of ", global_batch,
            ranks == 1 ? " (drop_last)"
                       : ccl::detail::concat(" (", ranks, " ranks x ", options_.batch_size, ")"));
    progress_.start_epoch(epoch_ + 1, options_.epochs, used);

    double loss_sum = 0;
    Index batches = 0, seen = 0, correct = 0;
    std::vector<Index> indices;
    // This rank's rows of the global batch starting at `first` (all of them on one rank).
    auto shard = [&](Index first, std::vector<Index>& out) {
      if (ranks == 1) {
        out.assign(order_.begin() + first,
                   order_.begin() + std::min(first + options_.batch_size, used));
      } else {
        out = dist::DistributedSampler::shard(order_, first / global_batch, options_.batch_size,
                                              comm_->rank(), int(ranks));
      }
    };
    for (Index first = 0; first < used; first += global_batch) {
      shard(first, indices);
      const Index count = Index(indices.size());
      const auto batch = train.load(indices);
      if constexpr (detail::has_prefetch<TrainSet>::value) {
        if (first + global_batch < used) {
          shard(first + global_batch, next_indices_);
          train.prefetch(next_indices_);
        }
      }
      pipeline_.set_batch_indices(indices);
      optimizer_.zero_grad();
      const auto result = run_step(batch);
      // Compiled only for a communicator: a 1-process Trainer has nothing to average.
      if constexpr (!std::is_same_v<Comm, dist::single>) {
        if (ranks > 1) {
          TrainableParameters trainable{&pipeline_};
          average_gradients_(*comm_, trainable);
        }
      }
      optimizer_.step();
      double step_loss = double(result.student_objective);
      Index step_correct = count_correct(
          host_view(result.logits, host_logits_, pipeline_.execution()), batch.labels);
      Index step_count = count;
      if (ranks > 1) {
        // The global batch's figures: the mean of the ranks' objectives (each rank's is its
        // shard's cross-entropy plus the global branch terms) and the summed counts.
        const auto sums = agreed_sums({step_loss, double(step_correct), double(step_count)});
        step_loss = sums[0] / double(ranks);
        step_correct = Index(std::llround(sums[1]));
        step_count = Index(std::llround(sums[2]));
      }
      require(std::isfinite(step_loss), "Trainer: the loss became ", step_loss, " at epoch ",
              epoch_ + 1, ", batch ", batches + 1, " (lower the learning rate?)");
      loss_sum += step_loss;
      ++batches;
      correct += step_correct;
      seen += step_count;
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

  template <class Batch>
  auto run_step(const Batch& batch) {
    if constexpr (detail::has_teacher_inputs<Batch>::value) {
      return std::apply(
          [&](const auto&... teacher_inputs) {
            return pipeline_.step(batch.input, batch.labels, teacher_inputs...);
          },
          batch.teacher_inputs);
    } else {
      static_assert(Pipeline::branch_count == 0,
                    "ccl::pipeline::Trainer: this pipeline has branches, so the dataset's batches "
                    "need `teacher_inputs` (a std::tuple with one input per branch)");
      return pipeline_.step(batch.input, batch.labels);
    }
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
    if (selecting()) line.add("best_epoch", best_epoch());
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
  dist::single single_;  // the communicator of a 1-process Trainer
  dist::GradientAverager<Backend> average_gradients_;
  Comm* comm_;
  TrainerOptions options_;
  Rng rng_;
  Index epoch_ = 0;
  io::Checkpoint checkpoint_;
  io::Checkpoint best_weights_;  // the trainable modules only: what selection keeps and restores
  std::vector<std::uint8_t> best_weights_bytes_;
  ModelSelector selector_;
  Progress progress_;
  std::vector<std::function<void()>> schedulers_;
  std::vector<std::function<void(const EpochReport&)>> epoch_callbacks_;
  std::vector<Index> order_;
  std::vector<Index> next_indices_;
  loss::CrossEntropy<Scalar, Backend> ce_;
  RowMatrix<Scalar> host_logits_;  // device logits copied for the accuracy counts
};

}  // namespace ccl::pipeline
