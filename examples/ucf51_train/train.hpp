#pragma once
// The Table 1 protocol on UCF51, written once for both backends: run_cell<Backend>(method, mode)
// builds the official student and, for CCL, one branch per teacher, then trains with the official
// recipe (method.md §5), validates after every epoch, checkpoints, and tests video-level.
//
//   student   R(2+1)D (nn::encoders::r2plus1d<float, Backend>) + linear classifier
//   teachers  precomputed audio features and per-frame image features (teacher::Precomputed):
//             the batch carries them, one image frame index per batch (ccl/data/ucf51_dataset.hpp)
//   CCL       Residual heads, CclObjective with the official routing, τ_a 0.5, τ_i 0.1, loss
//             weight 1 with one teacher and 0.5 per branch with two (method.md §4.6)
//   SGD       two groups (pipeline::add_optimizer_groups): the student's lr follows
//             MultiStep{milestones, γ}; the heads keep theirs
//   epoch     Ucf51Source's shuffled epoch (the next batch decodes while this one trains), each
//             batch made a BackendBatch<Backend> (uploaded on CUDA), one pipeline step
//   validate  ≤ 3 centre clips per test video, clip-level top-1; the best epoch's student is kept
//   test      consecutive windows of every test video, mean softmax (video_scores), top-1
//
// Checkpoints: <cell>/last.ckpt after every epoch (model, batch-norm statistics, optimiser,
// schedule, the data generator, epoch and best-epoch counters: a rerun resumes there) and
// <cell>/best.ckpt (the student of the best validation epoch). <cell>/log.jsonl gets one line per
// epoch. Backend-specific code is only BackendBatch (batch.hpp, batch_cuda.cuh); the calls to
// host_view and the pipeline's device views are resolved by overloading on the backend.
//
// Over a communicator of R > 1 ranks (CPU only, run_cpu.cpp under mpirun) a cell trains
// data-parallel: every rank draws the same global batch of --batch-size clips and trains on its
// 1/R (an incomplete last batch is skipped), the parameter gradients are averaged, and the loss
// and accuracy are the global batch's. What the student and the objective become on R ranks
// (synchronised BatchNorms, the objective on the global batch) is RankParts' choice. Rank 0
// alone reads and writes the cell's files (checkpoints, log), validates, tests and prints; every
// rank loads rank 0's checkpoint bytes. With dist::single (one process, every CUDA run) the
// code path is the one of before.

#include "batch.hpp"
#include "config.hpp"
#include "source.hpp"

#include <ccl/compose/residual.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/dist/rank_zero.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/io/atomic_file.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/modality/modality.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/json_lines.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/progress.hpp>
#include <ccl/pipeline/student.hpp>
#include <ccl/pipeline/teacher.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ucf51_train {

inline ccl::nn::encoders::R2Plus1dOptions student_options(const Config& c) {
  using ccl::nn::encoders::R2Plus1dOptions;
  ccl::require(c.student == "official" || c.student == "narrow", "ucf51_train: --student is '",
               c.student, "', expected official or narrow");
  return c.student == "official" ? R2Plus1dOptions::official() : R2Plus1dOptions::narrow(3);
}

template <class Backend>
using VideoStudent =
    ccl::pipeline::Student<ccl::nn::encoders::R2Plus1d<float, Backend>, float, Backend>;

template <class Backend>
VideoStudent<Backend> make_student(const Config& c, Index classes, ccl::Rng& rng) {
  const auto o = student_options(c);
  return VideoStudent<Backend>(ccl::nn::encoders::r2plus1d<float, Backend>(o, rng),
                               o.embedding_dim(), classes, rng);
}

/// What training over the communicator `Comm` changes in a cell. This one is for one process
/// (dist::single: the plain student, the objective itself, no gradient averaging); the CPU entry
/// specialises it for its run-time communicator (run_cpu.cpp), before instantiating run_cell.
template <class Backend, class Comm>
struct RankParts {
  static VideoStudent<Backend> student(const Config& c, Index classes, ccl::Rng& rng, Comm&) {
    return make_student<Backend>(c, classes, rng);
  }
  template <class Objective>
  static Objective objective(Comm&, Objective objective) {
    return objective;
  }
  template <class Pipeline>
  static void average_gradients(Comm&, Pipeline&) {}
};

/// One CCL branch: precomputed teacher features, a Residual head, the official objective.
template <class Backend, class Modality, class Comm>
auto ccl_branch(Index dim, Index classes, double temperature, double loss_weight, ccl::Rng& rng,
                Comm& comm) {
  using namespace ccl::pipeline;
  CclObjectiveOptions o;  // Routing::official
  o.temperature = temperature;
  o.loss_weight = loss_weight;
  return branch<Modality>(
      teacher::Precomputed<float, Backend>(dim),
      ccl::compose::Residual<float, Backend>(dim, dim, classes, rng),
      RankParts<Backend, Comm>::objective(comm, CclObjective<float, Backend>(o)));
}

/// The teacher inputs of mode M, one per branch in branch order.
template <Mode M, class Backend>
auto teacher_inputs(const BackendBatch<Backend>& batch) {
  if constexpr (M == Mode::audio) {
    return std::make_tuple(batch.audio());
  } else if constexpr (M == Mode::image) {
    return std::make_tuple(batch.image());
  } else if constexpr (M == Mode::both) {
    return std::make_tuple(batch.audio(), batch.image());
  } else {
    return std::tuple<>{};
  }
}

namespace detail {

/// Rank 0 reads the checkpoint file, every rank loads its bytes.
template <class Comm>
void load_checkpoint(Comm& comm, ccl::io::Checkpoint& checkpoint, const std::string& path) {
  if (comm.size() == 1) return checkpoint.load(path);
  std::vector<std::uint8_t> bytes;
  if (comm.rank() == 0) bytes = ccl::io::read_file(path, "load_checkpoint");
  ccl::dist::broadcast_bytes(comm, bytes);
  checkpoint.from_bytes(bytes, path);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Top-1 hits and summed cross-entropy of host logits (double precision).
struct Scores {
  Index rows = 0, correct = 0;
  double loss = 0;

  void add(ccl::EmbeddingView<const float> logits, const std::vector<std::int32_t>& labels) {
    const auto m = logits.matrix();
    for (Index i = 0; i < m.rows(); ++i) {
      const auto row = m.row(i).cast<double>();
      Index best = 0;
      const double top = row.maxCoeff(&best);
      const double log_sum = top + std::log((row.array() - top).exp().sum());
      loss += log_sum - row(labels[std::size_t(i)]);
      correct += best == labels[std::size_t(i)];
      ++rows;
    }
  }
  double top1() const { return rows > 0 ? double(correct) / double(rows) : 0.0; }
  double mean_loss() const { return rows > 0 ? loss / double(rows) : 0.0; }
};

/// Clip-level scores of the validation clips (≤ 3 per test video), inference mode.
template <class Backend, class Pipeline>
Scores validate(Pipeline& pipeline, Ucf51Source& data, const Config& c) {
  Scores scores;
  ccl::RowMatrix<float> host_logits;
  data.start_evaluation(EvalKind::validation, c.eval_batch);
  while (!data.evaluation_done()) {
    const BackendBatch<Backend> batch(data.next_evaluation_batch());
    scores.add(host_view(pipeline.predict(batch.input()), host_logits, pipeline.execution()),
               batch.labels());
  }
  return scores;
}

struct TestScores {
  Index videos = 0, correct = 0, windows = 0;
  double top1() const { return videos > 0 ? double(correct) / double(videos) : 0.0; }
};

/// The official final test: every test video cut into consecutive windows, the mean of the
/// windows' softmax (ccl::data::video_scores), video-level top-1.
template <class Backend, class Pipeline>
TestScores test(Pipeline& pipeline, Ucf51Source& data, const Config& c) {
  struct Video {
    std::int32_t label = 0;
    std::vector<float> logits;  // windows x classes, row-major
  };
  std::map<Index, Video> videos;
  ccl::RowMatrix<float> host_logits;
  TestScores scores;
  data.start_evaluation(EvalKind::test, c.eval_batch);
  while (!data.evaluation_done()) {
    const BackendBatch<Backend> batch(data.next_evaluation_batch());
    const auto logits =
        host_view(pipeline.predict(batch.input()), host_logits, pipeline.execution()).matrix();
    for (Index r = 0; r < logits.rows(); ++r) {
      Video& v = videos[batch.videos()[std::size_t(r)]];
      v.label = batch.labels()[std::size_t(r)];
      v.logits.insert(v.logits.end(), logits.row(r).data(), logits.row(r).data() + logits.cols());
      ++scores.windows;
    }
  }
  const Index classes = data.classes();
  for (const auto& [id, v] : videos) {
    const Index windows = Index(v.logits.size()) / classes;
    const ccl::RowMatrix<float> window_logits =
        Eigen::Map<const ccl::RowMatrix<float>>(v.logits.data(), windows, classes);
    Index best = 0;
    ccl::data::video_scores(window_logits).maxCoeff(&best);
    scores.correct += best == v.label;
    ++scores.videos;
  }
  return scores;
}

}  // namespace detail

/// Trains one cell with mode M's teachers, then tests it. Resumes from <cell>/last.ckpt.
template <class Backend, Mode M, class Pipeline, class Comm>
CellResult train_and_test(Pipeline& pipeline, Method method, const Config& c, Ucf51Source& data,
                          Comm& comm) {
  namespace fs = std::filesystem;
  using detail::seconds_since;
  using Clock = std::chrono::steady_clock;
  const auto cell_start = Clock::now();
  const int ranks = comm.size(), rank = comm.rank();
  const bool lead = rank == 0;  // reads and writes the files, validates, tests, prints
  ccl::require(c.batch_size % ranks == 0, "ucf51_train: the batch of ", c.batch_size,
               " clips is not divisible by ", ranks,
               " ranks (the batch is the global one: each rank trains on its 1/R of it)");
  const fs::path dir = cell_dir(c, method, M);
  if (lead) fs::create_directories(dir);
  const std::string last_path = (dir / "last.ckpt").string();
  const std::string best_path = (dir / "best.ckpt").string();
  const std::string log_path = (dir / "log.jsonl").string();
  const std::string name =
      method == Method::baseline ? std::string("baseline") : std::string("CCL-") + to_string(M);

  // Where the backend's work runs (on CUDA: the default stream, and TF32 as --tf32 says).
  pipeline.set_execution(execution_for<Backend>(c.tf32));
  ccl::optim::Sgd<float, Backend> sgd;
  sgd.set_execution(pipeline.execution());
  const ccl::optim::SgdOptions student_sgd{c.lr, c.momentum, 0.0, c.weight_decay, false};
  const ccl::optim::SgdOptions head_sgd{c.head_lr, c.momentum, 0.0, c.weight_decay, false};
  const auto groups = ccl::pipeline::add_optimizer_groups(sgd, pipeline, student_sgd, head_sgd);
  ccl::optim::Scheduler<ccl::optim::MultiStep> schedule(
      sgd, groups.student, ccl::optim::MultiStep{c.milestones, c.gamma});

  // The data generator (epoch order, clip augmentation, image frame) is separate from the one
  // that initialised the model, so that the model's weights do not depend on the data's draws.
  ccl::Rng rng(c.seed + 1);
  Index epoch = 0, best_epoch = 0, best_correct = -1;
  ccl::io::Checkpoint last, best;
  pipeline.for_each_trainable_module(
      [&](const std::string& module_name, auto& module) { last.add_module(module_name, module); });
  last.add_optimizer("optimizer", sgd)
      .add_scheduler("schedule.student", schedule)
      .add_rng("data", rng)
      .add_counter("epoch", epoch)
      .add_counter("best_epoch", best_epoch)
      .add_counter("best_correct", best_correct);
  best.add_module("student", pipeline.student()).add_counter("epoch", best_epoch);

  if (ccl::dist::rank_zero_value(comm, lead && c.resume && fs::exists(last_path))) {
    detail::load_checkpoint(comm, last, last_path);
    if (lead)
      std::fprintf(stderr, "%s: resumed from %s after epoch %lld of %lld\n", name.c_str(),
                   last_path.c_str(), static_cast<long long>(epoch),
                   static_cast<long long>(c.epochs));
  } else if (lead) {
    fs::remove(log_path);  // a fresh run starts a fresh log
    fs::remove(best_path);
  }

  CellResult result;
  pipeline.for_each_student_parameter([&](auto& p) { result.student_parameters += p.size(); });
  pipeline.for_each_head_parameter([&](auto& p) { result.head_parameters += p.size(); });
  if (lead)
    std::fprintf(stderr, "%s: student %lld parameters (R(2+1)D + classifier), heads %lld\n",
                 name.c_str(), static_cast<long long>(result.student_parameters),
                 static_cast<long long>(result.head_parameters));

  const auto style = lead ? c.progress : ccl::pipeline::ProgressStyle::none;
  ccl::pipeline::Progress progress(style);
  ccl::RowMatrix<float> host_logits;
  while (epoch < c.epochs) {
    EpochRecord record;
    record.epoch = epoch + 1;
    record.lr = sgd.lr(groups.student);
    const auto epoch_start = Clock::now();
    data.start_epoch(c.batch_size, rng);
    progress.start_epoch(epoch + 1, c.epochs, data.train_videos());
    double loss_sum = 0;
    Index batches = 0;
    detail::Scores train;
    while (!data.epoch_done()) {
      const auto wait_start = Clock::now();
      ccl::data::ClipBatch clips = data.next_training_batch();
      // Every rank holds the same global batch (the same epoch order and draws); R > 1 ranks
      // skip an incomplete one, whose shards would differ in size.
      if (clips.clips.dim(0) < c.batch_size && (ranks > 1 || c.drop_last)) continue;
      if (ranks > 1) clips = training_shard(clips, rank, ranks);
      const BackendBatch<Backend> batch(std::move(clips));
      record.data_wait_seconds += seconds_since(wait_start);
      sgd.zero_grad();
      const auto result = std::apply(
          [&](const auto&... teachers) {
            return pipeline.step(batch.input(), batch.labels(), teachers...);
          },
          teacher_inputs<M>(batch));
      RankParts<Backend, Comm>::average_gradients(comm, pipeline);
      sgd.step();
      double step_loss = double(result.student_objective);
      if (ranks == 1) {
        // Synchronises the step.
        train.add(host_view(result.logits, host_logits, pipeline.execution()), batch.labels());
      } else {
        // The global batch's figures: the mean of the ranks' objectives (each one's is its
        // shard's cross-entropy plus the branches' global terms) and the summed counts.
        detail::Scores shard;
        shard.add(host_view(result.logits, host_logits, pipeline.execution()), batch.labels());
        std::vector<double> sums{step_loss, double(shard.rows), double(shard.correct)};
        sums = ccl::dist::agreed_sums(comm, std::move(sums));
        step_loss = sums[0] / double(ranks);
        train.rows += Index(std::llround(sums[1]));
        train.correct += Index(std::llround(sums[2]));
      }
      ccl::require(std::isfinite(step_loss), "ucf51_train: ", name, ": the loss became ", step_loss,
                   " at epoch ", epoch + 1, ", batch ", batches + 1);
      loss_sum += step_loss;
      ++batches;
      progress.update(train.rows, loss_sum / double(batches), train.top1(),
                      seconds_since(epoch_start));
    }
    ccl::require(batches > 0, "ucf51_train: ", name, ": epoch ", epoch + 1,
                 " had no whole batch of ", c.batch_size, " clips (", data.train_videos(),
                 " training videos); lower --batch-size");
    record.loss = loss_sum / double(batches);
    record.train_top1 = train.top1();
    record.seconds = seconds_since(epoch_start);

    // Every rank holds the same student (inference communicates nothing): rank 0 validates.
    const auto val_start = Clock::now();
    const detail::Scores val =
        lead ? detail::validate<Backend>(pipeline, data, c) : detail::Scores{};
    record.val_seconds = seconds_since(val_start);
    record.val_top1 = val.top1();
    record.val_loss = val.mean_loss();

    schedule.step();
    ++epoch;
    // The official `save_model.pth`: the best validation epoch (rank 0's, which validates).
    if (lead && val.correct > best_correct) {
      best_correct = val.correct;
      best_epoch = epoch;
      best.save(best_path);
    }
    progress.end_epoch(record.loss, record.train_top1, 1, record.val_top1, record.seconds);
    if (style != ccl::pipeline::ProgressStyle::none) {  // is the data loader keeping up?
      std::fprintf(stderr, "  %s: lr %g, waited %.1f s of %.1f s for batches, validation %.1f s\n",
                   name.c_str(), record.lr, record.data_wait_seconds, record.seconds,
                   record.val_seconds);
    }
    ccl::pipeline::JsonLine line;
    line.add("epoch", record.epoch)
        .add("lr", record.lr)
        .add("loss", record.loss)
        .add("train_top1", record.train_top1)
        .add("val_top1", record.val_top1)
        .add("val_loss", record.val_loss)
        .add("seconds", record.seconds)
        .add("data_wait_seconds", record.data_wait_seconds)
        .add("val_seconds", record.val_seconds);
    if (lead) {
      std::ofstream(log_path, std::ios::app) << line.str() << '\n';
      last.save(last_path);  // after the log line: a resumed epoch's line is logged again
    }
  }

  result.method = method;
  result.mode = M;
  result.epochs = epoch;
  result.best_epoch = best_epoch;
  if (!lead) return result;  // rank 0 tests; the other ranks' results are not reported
  const bool have_best = best_epoch > 0 && fs::exists(best_path);
  if (c.test_model != "best" || !have_best) {  // the live model is the last epoch's
    const auto t = detail::test<Backend>(pipeline, data, c);
    result.test_top1_last = t.top1();
    result.test_videos = t.videos;
    result.test_windows = t.windows;
  }
  if (c.test_model != "last" && have_best) {
    best.load(best_path);
    const auto t = detail::test<Backend>(pipeline, data, c);
    result.test_top1_best = t.top1();
    result.test_videos = t.videos;
    result.test_windows = t.windows;
  }
  result.test_top1 =
      c.test_model != "last" && have_best ? result.test_top1_best : result.test_top1_last;
  result.seconds = seconds_since(cell_start);
  return result;
}

/// One cell of Table 1 on `Backend`: the baseline (mode ignored) or CCL with mode's teachers.
template <class Backend, class Comm>
CellResult run_cell(Method method, Mode mode, const Config& c, Ucf51Source& data, Comm& comm) {
  const auto o = student_options(c);
  ccl::require(method == Method::baseline || o.embedding_dim() == c.feature_dim,
               "ucf51_train: the ", c.student, " student embeds in ", o.embedding_dim(),
               " dimensions but the teacher features have ", c.feature_dim,
               " (--feature-dim); CCL compares the two");
  ccl::require(method == Method::baseline || mode == Mode::audio || data.has_image_features(),
               "ucf51_train: mode ", to_string(mode),
               " needs image-teacher features (--image DIR, tools/extract_image_features.py)");
  ccl::Rng rng(c.seed);
  auto student = RankParts<Backend, Comm>::student(c, data.classes(), rng, comm);
  if (method == Method::baseline) {
    auto pipeline = ccl::pipeline::make_pipeline(std::move(student));
    return train_and_test<Backend, Mode::none>(pipeline, method, c, data, comm);
  }
  using ccl::pipeline::make_pipeline;
  const Index d = c.feature_dim, k = data.classes();
  switch (mode) {
    case Mode::audio: {
      auto audio = ccl_branch<Backend, ccl::Audio>(d, k, 0.5, 1.0, rng, comm);
      auto p = make_pipeline(std::move(student), std::move(audio));
      return train_and_test<Backend, Mode::audio>(p, method, c, data, comm);
    }
    case Mode::image: {
      auto image = ccl_branch<Backend, ccl::Image>(d, k, 0.1, 1.0, rng, comm);
      auto p = make_pipeline(std::move(student), std::move(image));
      return train_and_test<Backend, Mode::image>(p, method, c, data, comm);
    }
    case Mode::both: {
      // Named first: argument evaluation order is unspecified, the rng draws must not be.
      auto audio = ccl_branch<Backend, ccl::Audio>(d, k, 0.5, 0.5, rng, comm);
      auto image = ccl_branch<Backend, ccl::Image>(d, k, 0.1, 0.5, rng, comm);
      auto p = make_pipeline(std::move(student), std::move(audio), std::move(image));
      return train_and_test<Backend, Mode::both>(p, method, c, data, comm);
    }
    case Mode::none:
      break;
  }
  throw ccl::error("ucf51_train: CCL needs at least one teacher (mode A, I or AI)");
}

/// One process (every device run): run_cell over dist::single.
template <class Backend>
CellResult run_cell(Method method, Mode mode, const Config& c, Ucf51Source& data) {
  ccl::dist::single one;
  return run_cell<Backend>(method, mode, c, data, one);
}

}  // namespace ucf51_train
