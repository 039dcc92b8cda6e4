// pipeline::Trainer over a communicator: R ranks (shards of the global batch, averaged gradients,
// reduced metrics, rank-0 files) train and report as one process with the global batch, and a
// checkpoint of 2 ranks resumes on 1 and on 3 ranks.

#include "dist_pipeline_fixture.hpp"

#include <catch2/catch.hpp>

#include <ccl/dist/mpi.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace dist_fixture;
using ccl::pipeline::EpochReport;
using ccl::pipeline::ProgressStyle;
using ccl::pipeline::SelectBy;
using ccl::pipeline::Trainer;
using ccl::pipeline::TrainerOptions;

namespace {

constexpr Index kGlobalBatch = 12;  // divisible by 1, 2, 3 and 4 ranks

TrainerOptions options_for(int ranks, Index epochs) {
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = kGlobalBatch / ranks;
  options.drop_last = true;  // what R ranks do; 40 samples: 3 global batches, 4 rows dropped
  options.seed = 13;
  options.top_k = {1, 2};
  options.progress = ProgressStyle::none;
  options.selection.metric = SelectBy::accuracy;
  return options;
}

struct Run {
  std::vector<double> parameters;
  std::vector<EpochReport> reports;
  Index best_epoch = 0;
};

template <class Comm>
Run fit(Comm& comm, TrainerOptions options) {
  const ClipSet train(40, 3), validation(21, 4);  // 21: uneven evaluation shards on 2 and 4 ranks
  auto pipeline = make_pipeline(comm);
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline, 0.2);
  Run run;
  if constexpr (std::is_same_v<Comm, ccl::dist::single>) {
    Trainer trainer(pipeline, sgd, options);
    run.reports = trainer.fit(train, &validation);
    run.best_epoch = trainer.best_epoch();
  } else {
    Trainer trainer(pipeline, sgd, options, comm);
    run.reports = trainer.fit(train, &validation);
    run.best_epoch = trainer.best_epoch();
  }
  run.parameters = flatten(pipeline);
  return run;
}

/// Largest difference between two runs' parameters and reported figures; accuracies are counts
/// over the same samples and must be equal.
double compare(const Run& want, const Run& got) {
  REQUIRE(want.reports.size() == got.reports.size());
  double worst = largest_difference(want.parameters, got.parameters);
  for (std::size_t e = 0; e < want.reports.size(); ++e) {
    const EpochReport &a = want.reports[e], &b = got.reports[e];
    worst = std::max(worst, std::abs(a.loss - b.loss));
    worst = std::max(worst, std::abs(a.eval.loss - b.eval.loss));
    CHECK(a.accuracy == b.accuracy);
    CHECK(a.eval.samples == b.eval.samples);
    CHECK(a.eval.accuracy == b.eval.accuracy);
    CHECK(a.best == b.best);
  }
  CHECK(want.best_epoch == got.best_epoch);
  return worst;
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

Index lines_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  Index lines = 0;
  while (std::getline(in, line)) ++lines;
  return lines;
}

void remove_run_files(const std::string& checkpoint, const std::string& log = "") {
  std::remove(checkpoint.c_str());
  std::remove((checkpoint + ".best").c_str());
  if (!log.empty()) std::remove(log.c_str());
}

}  // namespace

TEST_CASE("the Trainer on R ranks trains and reports as one process with the global batch") {
  ccl::dist::mpi comm;
  ccl::dist::single one;
  const Run reference = fit(one, options_for(1, 3));
  TrainerOptions options = options_for(comm.size(), 3);
  const std::string stem = "dist_trainer_np" + std::to_string(comm.size());
  options.checkpoint_path = stem + ".ckpt";
  options.log_path = stem + ".jsonl";
  if (comm.rank() == 0) remove_run_files(options.checkpoint_path, options.log_path);
  comm.barrier();
  const Run distributed = fit(comm, options);
  const double worst = compare(reference, distributed);
  INFO("ranks " << comm.size() << ": largest difference in parameters and losses " << worst
                << "; validation top-1 " << distributed.reports.back().eval.top(1));
  CHECK(worst <= 1e-10);
  CHECK(distributed.reports.back().eval.samples == 21);
  comm.barrier();
  if (comm.rank() == 0) {
    // Rank 0 alone wrote: one log line per epoch, not one per rank and epoch.
    CHECK(lines_of(options.log_path) == 3);
    CHECK(exists(options.checkpoint_path));
    CHECK(exists(options.checkpoint_path + ".best"));
    remove_run_files(options.checkpoint_path, options.log_path);
  }
}

TEST_CASE("a Trainer checkpoint of 2 ranks resumes on 1 and on 3 ranks") {
  // Sub-communicators of the world stand for runs on other rank counts (as in
  // test_dist_training): ranks 0-1 train 1 epoch with a checkpoint; the first 1 and the first 3
  // ranks resume it to 3 epochs. Needs 3 ranks (run by dist.trainer.np3 and np4).
  ccl::dist::mpi world;
  if (world.size() < 3) return;
  ccl::dist::single one;
  const Run reference = fit(one, options_for(1, 3));
  const std::string path = "dist_trainer_resume_np" + std::to_string(world.size()) + ".ckpt";
  auto split = [&](int ranks) {
    MPI_Comm sub = MPI_COMM_NULL;
    ccl::dist::detail::check_mpi(
        MPI_Comm_split(MPI_COMM_WORLD, world.rank() < ranks ? 0 : MPI_UNDEFINED, world.rank(),
                       &sub),
        "MPI_Comm_split");
    return sub;
  };
  for (int ranks : {1, 3}) {
    if (world.rank() == 0) remove_run_files(path);
    world.barrier();
    if (MPI_Comm two = split(2); two != MPI_COMM_NULL) {
      ccl::dist::mpi comm(two);
      TrainerOptions options = options_for(2, 1);
      options.checkpoint_path = path;
      fit(comm, options);
      MPI_Comm_free(&two);
    }
    world.barrier();
    if (MPI_Comm sub = split(ranks); sub != MPI_COMM_NULL) {
      ccl::dist::mpi comm(sub);
      TrainerOptions options = options_for(ranks, 3);
      options.checkpoint_path = path;
      const Run resumed = fit(comm, options);
      REQUIRE(resumed.reports.size() == 2);  // epochs 2 and 3; epoch 1 came from the checkpoint
      Run tail = reference;
      tail.reports.erase(tail.reports.begin());
      const double worst = compare(tail, resumed);
      INFO("resumed on " << ranks << " ranks: largest difference " << worst);
      CHECK(worst <= 1e-10);
      MPI_Comm_free(&sub);
    }
    world.barrier();
  }
  if (world.rank() == 0) remove_run_files(path);
}

TEST_CASE("a training set smaller than one global batch is an error on every rank") {
  ccl::dist::mpi comm;
  const ClipSet tiny(comm.size() * 2 - 1, 3);  // cannot fill one global batch of R x 2
  auto pipeline = make_pipeline(comm);
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline);
  TrainerOptions options = options_for(1, 1);
  options.batch_size = 2;
  options.selection.metric = SelectBy::none;
  Trainer trainer(pipeline, sgd, options, comm);
  CHECK_THROWS_WITH(trainer.fit(tiny), Catch::Contains("cannot fill one"));
}

TEST_CASE("a checkpoint rank 0 cannot write, or a corrupt one, is an error on every rank") {
  ccl::dist::mpi comm;
  const ClipSet train(40, 3);
  auto pipeline = make_pipeline(comm);
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline);
  TrainerOptions options = options_for(comm.size(), 1);
  options.selection.metric = SelectBy::none;
  options.checkpoint_path = "no_such_directory/dist_trainer.ckpt";
  {
    Trainer trainer(pipeline, sgd, options, comm);
    // Rank 0's failure, with its message, travels to every rank, which would otherwise wait in
    // the next collective (on one rank the error is the checkpoint's own, as without a
    // communicator).
    const auto rank_zero = Catch::Contains("cannot create a temporary file");
    if (comm.size() == 1)
      CHECK_THROWS_WITH(trainer.fit(train), rank_zero);
    else
      CHECK_THROWS_WITH(
          trainer.fit(train),
          Catch::Contains("rank 0 failed to write the log and the checkpoint") && rank_zero);
  }
  const std::string corrupt = "dist_trainer_corrupt_np" + std::to_string(comm.size()) + ".ckpt";
  if (comm.rank() == 0) std::ofstream(corrupt) << "not a checkpoint";
  comm.barrier();
  options.checkpoint_path = corrupt;
  Trainer trainer(pipeline, sgd, options, comm);
  // Every rank validates the bytes rank 0 read, so every rank rejects them.
  CHECK_THROWS(trainer.fit(train));
  comm.barrier();
  if (comm.rank() == 0) std::remove(corrupt.c_str());
}
