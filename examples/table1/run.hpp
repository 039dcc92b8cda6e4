#pragma once
// One cell of Table 1: train the video student with one method and one set of teachers, then
// measure top-1 on the test clips and Recall@K retrieval (test clips as queries, training clips
// as the gallery, cosine on the student's embedding, method.md §6.2).
//
// Every cell builds its own pipeline *type* (the branches differ per method and mode), so the
// methods are compiled in separate translation units (run_<method>.cpp) that share this code.
//
// Over several ranks (parallel.hpp) a cell trains data-parallel: the Trainer shards every global
// batch of --batch rows over the ranks, the student's BatchNorms are synchronised and the
// branches' objectives see the global batch, so the cell equals a one-process run with the same
// global batch up to float rounding. Rank 0 alone measures the test clips (every rank holds the
// same student; main.cpp gives rank 0's result to the others).

#include "datasets.hpp"
#include "parallel.hpp"
#include "student.hpp"
#include "teachers.hpp"

#include <ccl/data/benchmark.hpp>
#include <ccl/metrics/retrieval.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/no_composition.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/student.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <utility>
#include <string>
#include <vector>

namespace table1 {

enum class Method { baseline, fitnet, pkt, cor, rkd, crd, ifd, cmc, ccl };

inline const std::vector<Method>& all_methods() {
  static const std::vector<Method> methods{Method::baseline, Method::fitnet, Method::pkt,
                                           Method::cor,      Method::rkd,    Method::crd,
                                           Method::ifd,      Method::cmc,    Method::ccl};
  return methods;
}

inline const char* to_string(Method m) {
  switch (m) {
    case Method::baseline: return "baseline";
    case Method::fitnet: return "FitNet";
    case Method::pkt: return "PKT";
    case Method::cor: return "COR";
    case Method::rkd: return "RKD";
    case Method::crd: return "CRD";
    case Method::ifd: return "IFD";
    case Method::cmc: return "CMC";
    case Method::ccl: return "CCL";
  }
  return "?";
}

/// Which epoch's student a cell reports on the test clips.
enum class Selection {
  last,             ///< the last epoch (the default: nothing is chosen)
  best_validation,  ///< the epoch with the best validation top-1 (earliest on ties)
  best_on_test,     ///< the official code's choice, the best test epoch (method.md §5): optimistic
};

inline const char* to_string(Selection s) {
  switch (s) {
    case Selection::last: return "last";
    case Selection::best_validation: return "best-validation";
    case Selection::best_on_test: return "best-on-test";
  }
  return "?";
}

struct RunOptions {
  Index epochs = 20;
  Index batch_size = 16;
  double lr = 0.05;         ///< the student's SGD learning rate (cosine-decayed)
  double head_lr = 0.05;    ///< composition heads / auxiliary modules (kept constant, method.md §5)
  Index dim = 64;           ///< student and teacher embedding size
  std::uint64_t seed = 1;
  /// Baselines only: β = scale × the method's default β (method.md §8).
  double beta_scale = 1.0;
  /// CCL only (official routing): the student-side loss weight × the official one (1 with one
  /// teacher, 0.5 per branch with two), and the temperatures of the audio and image branches.
  double ccl_weight_scale = 1.0;
  double tau_audio = 0.5, tau_image = 0.1;
  /// CCL only: the paper's routing (method.md §4.5) with λ instead of the official one.
  bool ccl_paper_routing = false;
  double ccl_lambda = 0.5;
  Selection select = Selection::last;
  /// Train on whole batches only: the last, incomplete batch of an epoch is dropped. What R > 1
  /// ranks always do (every shard must have the same shape), so that one process can reproduce
  /// them (--drop-last).
  bool drop_last = false;
  ccl::pipeline::ProgressStyle progress = ccl::pipeline::ProgressStyle::none;
};

/// The data of every cell. The student fits `bench.clips_train` (the fit part of the training
/// clips), is validated after every epoch on `bench.clips_test` (the held-out part), and tested on
/// `test_clips`, which no choice ever looks at (except --select best-on-test, labelled as such).
struct Context {
  const ccl::data::TriModalBenchmark& bench;
  const Teachers& teachers;  ///< train / test: the teacher embeddings of the fit / validation clips
  const ccl::data::ClipSet& test_clips;
  const ClipTeachers& test_teachers;
  RunOptions options;
  /// The ranks the student trains over (one process: size 1, the single-process code path).
  Communicator& comm;
};

/// One epoch of a cell's training curve.
struct EpochPoint {
  Index epoch = 0;
  double loss = 0, train_top1 = 0, validation_top1 = 0, validation_loss = 0;
};

/// Test clips whose nearest training clips the retrieval figure shows (8, spread over classes).
inline std::vector<Index> figure_queries(Index test_count) {
  std::vector<Index> out;
  const Index rows = std::min<Index>(8, test_count);
  for (Index r = 0; r < rows; ++r) out.push_back(r * (test_count / rows));
  return out;
}

struct CellResult {
  Method method = Method::baseline;
  Mode mode = Mode::none;
  std::uint64_t seed = 0;
  std::string config;         ///< the hyper-parameter setting (grid label), e.g. "beta×0.1"
  double top1 = 0;            ///< test top-1 of the selected epoch
  double validation_top1 = 0; ///< validation top-1 of the last epoch (what tuning compares)
  Index selected_epoch = 0;
  double seconds = 0;
  ccl::metrics::RecallAtK recall;
  std::vector<EpochPoint> curve;
  /// For the retrieval figure: the 5 nearest training clips of each figure_queries() clip.
  std::vector<std::vector<Index>> neighbours;
};

// The student's encoder is compiled once, in student.cpp (student.hpp).
using VideoStudent = ccl::pipeline::Student<VideoEncoder, float>;

inline VideoStudent make_student(const Context& ctx, ccl::Rng& rng) {
  const auto o = student_options();
  return VideoStudent(VideoEncoder(o, rng, ctx.comm), o.embedding_dim(),
                      Index(ctx.bench.class_names.size()), rng);
}

namespace detail {

/// Test top-1 and the student's embeddings of the test clips, from one inference pass.
template <class Pipeline>
std::pair<double, Matrix> test_pass(Pipeline& pipeline, const Context& ctx) {
  const ClipSet<Mode::none> test(ctx.test_clips, ctx.test_teachers, 0);
  auto& student = pipeline.student();
  student.set_training(false);
  Matrix embeddings;
  Index correct = 0;
  std::vector<Index> indices;
  const Index batch = 64;
  for (Index first = 0; first < test.size(); first += batch) {
    indices.resize(std::size_t(std::min(batch, test.size() - first)));
    for (std::size_t k = 0; k < indices.size(); ++k) indices[k] = first + Index(k);
    const auto loaded = test.load(indices);
    const auto out = student.forward(loaded.input);
    const auto e = out.embedding.matrix();
    const auto z = out.logits.matrix();
    if (embeddings.rows() == 0) embeddings.resize(test.size(), e.cols());
    embeddings.middleRows(first, e.rows()) = e;
    for (Index i = 0; i < z.rows(); ++i) {
      Index best = 0;
      z.row(i).maxCoeff(&best);
      correct += best == loaded.labels[std::size_t(i)];
    }
  }
  return {double(correct) / double(test.size()), std::move(embeddings)};
}

}  // namespace detail

/// What the test clips say about the student as it is now: top-1, Recall@K against the fit
/// clips as the gallery, and the figure's nearest neighbours.
template <class Pipeline>
void measure_on_test(Pipeline& pipeline, const Context& ctx, CellResult& result) {
  auto [top1, queries] = detail::test_pass(pipeline, ctx);
  const ClipSet<Mode::none> train_plain(ctx.bench.clips_train, ctx.teachers.train, 0);
  const Matrix gallery = detail::embed_all(pipeline, train_plain, 64);
  result.top1 = top1;
  result.recall = ccl::metrics::recall_at_k<float>(queries, ctx.test_clips.labels, gallery,
                                                   ctx.bench.clips_train.labels, {1, 2, 5, 10, 20});
  result.neighbours.clear();
  const Index k = std::min<Index>(5, gallery.rows());
  const Matrix g = gallery.rowwise().normalized();
  for (Index q : figure_queries(queries.rows())) {
    Eigen::VectorXf sim = g * queries.row(q).normalized().transpose();
    std::vector<Index> order(static_cast<std::size_t>(gallery.rows()));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = Index(i);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](Index a, Index b) {
      return sim[a] > sim[b] || (sim[a] == sim[b] && a < b);
    });
    order.resize(std::size_t(k));
    result.neighbours.push_back(std::move(order));
  }
}

/// Trains `pipeline` on the fit clips with mode M's teachers, validating after every epoch, then
/// measures the selected epoch's student on the test clips.
template <Mode M, class Pipeline>
CellResult train_and_evaluate(Pipeline& pipeline, const Context& ctx, Method method) {
  const auto start = std::chrono::steady_clock::now();
  const RunOptions& o = ctx.options;
  ccl::optim::Sgd<float> sgd;
  ccl::optim::SgdOptions student_sgd = ccl::optim::SgdOptions::official();
  student_sgd.lr = o.lr;
  ccl::optim::SgdOptions head_sgd = ccl::optim::SgdOptions::official();
  head_sgd.lr = o.head_lr;
  const auto groups = ccl::pipeline::add_optimizer_groups(sgd, pipeline, student_sgd, head_sgd);
  // The student's lr decays (cosine over the run); the heads' stays fixed, as in the official
  // recipe (method.md §5, whose MultiStep over 300 epochs we cannot afford here).
  ccl::optim::Scheduler<ccl::optim::Cosine> schedule(sgd, groups.student,
                                                     ccl::optim::Cosine{o.epochs, 0.0});
  const Index ranks = ctx.comm.size();
  ccl::require(o.batch_size % ranks == 0, "table1: the batch of ", o.batch_size,
               " clips is not divisible by ", ranks,
               " ranks (the batch is the global one: each rank trains on its 1/R of it)");
  ccl::pipeline::TrainerOptions t;
  t.epochs = o.epochs;
  t.batch_size = o.batch_size / ranks;  // rows per rank; with one rank, the whole batch
  t.drop_last = o.drop_last;  // several ranks drop the last incomplete global batch regardless
  t.seed = o.seed;
  t.progress = o.progress;
  t.top_k = {1};
  ccl::pipeline::Trainer trainer(pipeline, sgd, t, ctx.comm);
  trainer.add_scheduler(schedule);
  // Every rank holds the same student; the test clips are measured once, on rank 0.
  const bool measure = ctx.comm.lead();

  CellResult result;
  result.method = method;
  result.mode = M;
  result.seed = o.seed;
  double best_validation = -1, best_test = -1;
  trainer.add_epoch_callback([&](const ccl::pipeline::EpochReport& r) {
    result.curve.push_back({r.epoch, r.loss, r.accuracy, r.eval.top(1), r.eval.loss});
    // Selection other than the last epoch measures the test clips when the chosen epoch may
    // change (best validation: when validation improves; best on test: every epoch).
    if (o.select == Selection::best_validation && r.eval.top(1) > best_validation) {
      best_validation = r.eval.top(1);
      if (measure) measure_on_test(pipeline, ctx, result);
      result.selected_epoch = r.epoch;
    } else if (o.select == Selection::best_on_test && measure) {
      CellResult now;
      measure_on_test(pipeline, ctx, now);
      if (now.top1 > best_test) {
        best_test = now.top1;
        result.top1 = now.top1;
        result.recall = now.recall;
        result.neighbours = now.neighbours;
        result.selected_epoch = r.epoch;
      }
    }
  });

  const ClipSet<M> train(ctx.bench.clips_train, ctx.teachers.train, o.seed + 7);
  const ClipSet<Mode::none> validation(ctx.bench.clips_test, ctx.teachers.test, 0);
  trainer.fit(train, &validation);
  if (o.select == Selection::last) {
    if (measure) measure_on_test(pipeline, ctx, result);
    result.selected_epoch = o.epochs;
  }
  result.validation_top1 = result.curve.empty() ? 0.0 : result.curve.back().validation_top1;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

/// A baseline cell (method.md §8): the student's CE plus, per teacher, β·L(x_v, x_t) from the
/// objective `make(rng)` builds; no composition. In AI mode the two teachers' terms are added.
/// The objective runs on the global batch over several ranks (DataParallelObjective).
template <class MakeObjective>
CellResult run_with_objective(Method method, Mode mode, const Context& ctx, MakeObjective make) {
  using namespace ccl::pipeline;
  ccl::Rng rng(ctx.options.seed);
  auto student = make_student(ctx, rng);
  const Index d = ctx.options.dim;
  auto teacher_branch = [&](auto modality) {
    using Modality = decltype(modality);
    return branch<Modality>(teacher::Precomputed<float>(d), NoComposition<float>{},
                            data_parallel(ctx.comm, make(rng)));
  };
  switch (mode) {
    case Mode::audio: {
      auto p = make_pipeline(std::move(student), teacher_branch(ccl::Audio{}));
      return train_and_evaluate<Mode::audio>(p, ctx, method);
    }
    case Mode::image: {
      auto p = make_pipeline(std::move(student), teacher_branch(ccl::Image{}));
      return train_and_evaluate<Mode::image>(p, ctx, method);
    }
    case Mode::both: {
      auto p = make_pipeline(std::move(student), teacher_branch(ccl::Audio{}),
                             teacher_branch(ccl::Image{}));
      return train_and_evaluate<Mode::both>(p, ctx, method);
    }
    case Mode::none: break;
  }
  throw ccl::error(std::string("table1: ") + to_string(method) + " needs at least one teacher");
}

// One entry point per method, each in its own translation unit.
CellResult run_baseline(const Context& ctx);
CellResult run_ccl(Mode mode, const Context& ctx);
CellResult run_fitnet(Mode mode, const Context& ctx);
CellResult run_pkt(Mode mode, const Context& ctx);
CellResult run_cor(Mode mode, const Context& ctx);
CellResult run_rkd(Mode mode, const Context& ctx);
CellResult run_crd(Mode mode, const Context& ctx);
CellResult run_ifd(Mode mode, const Context& ctx);
CellResult run_cmc(Mode mode, const Context& ctx);

inline CellResult run_cell(Method method, Mode mode, const Context& ctx) {
  switch (method) {
    case Method::baseline: return run_baseline(ctx);
    case Method::ccl: return run_ccl(mode, ctx);
    case Method::fitnet: return run_fitnet(mode, ctx);
    case Method::pkt: return run_pkt(mode, ctx);
    case Method::cor: return run_cor(mode, ctx);
    case Method::rkd: return run_rkd(mode, ctx);
    case Method::crd: return run_crd(mode, ctx);
    case Method::ifd: return run_ifd(mode, ctx);
    case Method::cmc: return run_cmc(mode, ctx);
  }
  throw ccl::error("table1: unknown method");
}

}  // namespace table1
