#pragma once
// One cell of Table 1: train the video student with one method and one set of teachers, then
// measure top-1 on the test clips and Recall@K retrieval (test clips as queries, training clips
// as the gallery, cosine on the student's embedding, method.md §6.2).
//
// Every cell builds its own pipeline *type* (the branches differ per method and mode), so the
// methods are compiled in separate translation units (run_<method>.cpp) that share this code.

#include "datasets.hpp"
#include "teachers.hpp"

#include <ccl/data/benchmark.hpp>
#include <ccl/metrics/retrieval.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/no_composition.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/student.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <chrono>
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

struct RunOptions {
  Index epochs = 10;
  Index batch_size = 16;
  double lr = 0.05;         ///< the student's SGD learning rate (cosine-decayed)
  double head_lr = 0.05;    ///< composition heads / auxiliary modules (kept constant, method.md §5)
  Index dim = 64;           ///< student and teacher embedding size
  std::uint64_t seed = 1;
  /// Baselines only: β = scale × the method's default β (method.md §8); chosen per method on a
  /// validation split by `--tune-beta` (validation.hpp), 1 otherwise.
  double beta_scale = 1.0;
  ccl::pipeline::ProgressStyle progress = ccl::pipeline::ProgressStyle::automatic;
};

struct Context {
  const ccl::data::TriModalBenchmark& bench;
  const Teachers& teachers;
  RunOptions options;
};

struct CellResult {
  Method method = Method::baseline;
  Mode mode = Mode::none;
  std::uint64_t seed = 0;
  double top1 = 0;
  double seconds = 0;
  ccl::metrics::RecallAtK recall;
  Matrix queries, gallery;  ///< the student's embeddings of the test and training clips
};

inline ccl::nn::encoders::R2Plus1dOptions student_options() {
  // The narrow R(2+1)D with a spatially strided stem: 1x8x32x32 clips -> 64-d.
  auto o = ccl::nn::encoders::R2Plus1dOptions::narrow(1);
  o.stem_stride = {1, 2, 2};
  return o;
}

using VideoEncoder = ccl::nn::encoders::R2Plus1d<float>;
using VideoStudent = ccl::pipeline::Student<VideoEncoder, float>;

inline VideoStudent make_student(const Context& ctx, ccl::Rng& rng) {
  const auto o = student_options();
  return VideoStudent(ccl::nn::encoders::r2plus1d<float>(o, rng), o.embedding_dim(),
                      Index(ctx.bench.class_names.size()), rng);
}

/// Stacks the student's embeddings of a clip set (inference mode).
template <class Pipeline, class Set>
Matrix embed_clips(Pipeline& pipeline, const Set& set) {
  return detail::embed_all(pipeline, set, 64);
}

/// Trains `pipeline` on the training clips with mode M's teachers, then evaluates it.
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
  ccl::pipeline::TrainerOptions t;
  t.epochs = o.epochs;
  t.batch_size = o.batch_size;
  t.seed = o.seed;
  t.progress = o.progress;
  ccl::pipeline::Trainer trainer(pipeline, sgd, t);
  trainer.add_scheduler(schedule);

  const ClipSet<M> train(ctx.bench.clips_train, ctx.teachers.train, o.seed + 7);
  const ClipSet<Mode::none> train_plain(ctx.bench.clips_train, ctx.teachers.train, 0);
  const ClipSet<Mode::none> test(ctx.bench.clips_test, ctx.teachers.test, 0);
  trainer.fit(train);

  CellResult result;
  result.method = method;
  result.mode = M;
  result.seed = o.seed;
  result.top1 = trainer.evaluate(test).top(1);
  result.queries = embed_clips(pipeline, test);
  result.gallery = embed_clips(pipeline, train_plain);
  result.recall = ccl::metrics::recall_at_k<float>(result.queries, ctx.bench.clips_test.labels,
                                                   result.gallery, ctx.bench.clips_train.labels,
                                                   {1, 2, 5, 10, 20});
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

/// A baseline cell (method.md §8): the student's CE plus, per teacher, β·L(x_v, x_t) from the
/// objective `make(rng)` builds; no composition. In AI mode the two teachers' terms are added.
template <class MakeObjective>
CellResult run_with_objective(Method method, Mode mode, const Context& ctx, MakeObjective make) {
  using namespace ccl::pipeline;
  ccl::Rng rng(ctx.options.seed);
  auto student = make_student(ctx, rng);
  const Index d = ctx.options.dim;
  auto teacher_branch = [&](auto modality) {
    using Modality = decltype(modality);
    return branch<Modality>(teacher::Precomputed<float>(d), NoComposition<float>{}, make(rng));
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
