// Data-parallel training of a device pipeline (ccl::cuda) through pipeline::Trainer: R ranks, each
// with its shard of every global batch, the CCL objective on the all-gathered global batch
// (dist::GlobalObjective) and device gradients averaged over ranks (dist::average_gradients),
// must train exactly like one CPU process with the global batch. Double precision; tolerance
// 1e-10 relative to the largest parameter.
//
//   mpirun -np R test_dist_device            over dist::mpi (device data staged through the host)
//   mpirun -np R test_dist_device --nccl     over dist::nccl (device memory), one GPU per rank
//
// Built wherever ccl::cuda and ccl::mpi exist; prints "SKIPPED: ..." (ctest's
// SKIP_REGULAR_EXPRESSION) on every rank when this machine has no CUDA device, or fewer devices
// than NCCL ranks.

#include <ccl/cuda.hpp>

#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/dist/global_objective.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/bind.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>
#if defined(CCL_TEST_NCCL)
#include <ccl/dist/nccl.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;

constexpr Index kSamples = 24, kGlobalBatch = 12, kIn = 5, kDim = 4, kClasses = 3;

/// The same architecture on both backends: a Linear encoder, one audio branch with the CCL
/// objective and missing-audio masking; with a communicator, the objective sees the global batch.
template <class Backend, class Comm>
auto make_ccl_pipeline(Comm* comm) {
  using P = Bind<double, Backend>;
  ccl::Rng rng(9);
  auto student = P::student(ccl::nn::Linear<double, Backend>(kIn, kDim, rng), kDim, kClasses, rng);
  CclObjectiveOptions options;
  options.temperature = 0.5;
  auto head = P::template make<ccl::compose::Residual>(kDim, kDim, kClasses, rng);
  auto objective = P::template make<CclObjective>(options);
  auto teacher = P::template make<teacher::Precomputed>(kDim);
  if constexpr (std::is_same_v<Comm, ccl::dist::single>) {
    return make_pipeline(std::move(student), branch<ccl::Audio>(std::move(teacher), std::move(head),
                                                                std::move(objective)));
  } else {
    return make_pipeline(std::move(student), branch<ccl::Audio>(std::move(teacher), std::move(head),
                                                                ccl::dist::global_objective(
                                                                    *comm, std::move(objective))));
  }
}

/// Clips, audio embeddings (two clips without audio: uneven shards of the branch) and labels.
struct Data {
  RowMatrix<double> x = RowMatrix<double>::Zero(kSamples, kIn);
  RowMatrix<double> audio = RowMatrix<double>::Zero(kSamples, kDim);
  std::vector<std::int64_t> y;
  Data() {
    ccl::Rng rng(21);
    rng.fill_normal(x);
    rng.fill_normal(audio);
    audio.row(3).setZero();
    audio.row(17).setZero();
    for (Index i = 0; i < kSamples; ++i) y.push_back(i % kClasses);
  }
};

/// Batches of either backend: a device dataset uploads in load(), as a user's would, on the
/// pipeline's stream.
template <class Backend>
struct Set {
  const Data* data;
  ccl::Execution<Backend> execution;
  using View = ccl::EmbeddingView<const double, Backend>;
  struct Batch {
    ccl::backend_matrix_t<double, Backend> x_storage, audio_storage;
    View input;
    std::vector<std::int64_t> labels;
    std::tuple<View> teacher_inputs;
  };
  Index size() const { return data->x.rows(); }
  Batch load(const std::vector<Index>& indices) const {
    using ccl::assign;  // found with the device overloads by argument-dependent lookup
    using ccl::view;
    const Index n = Index(indices.size());
    RowMatrix<double> xb(n, kIn), ab(n, kDim);
    Batch b;
    for (Index r = 0; r < n; ++r) {
      xb.row(r) = data->x.row(indices[std::size_t(r)]);
      ab.row(r) = data->audio.row(indices[std::size_t(r)]);
      b.labels.push_back(data->y[std::size_t(indices[std::size_t(r)])]);
    }
    assign(b.x_storage, view(xb), execution);
    assign(b.audio_storage, view(ab), execution);
    b.input = view(b.x_storage);
    b.teacher_inputs = std::make_tuple(View(view(b.audio_storage)));
    return b;
  }
};

struct Run {
  std::vector<double> parameters;
  std::vector<EpochReport> reports;
};

template <class Backend, class Comm>
Run train(Comm& comm, const Data& data) {
  // The device run queues everything on a non-blocking stream of its own: a part left on the
  // default stream would race it.
  std::conditional_t<std::is_same_v<Backend, ccl::cuda>, ccl::gpu::Stream, int> stream{};
  auto pipeline = make_ccl_pipeline<Backend>(&comm);
  if constexpr (std::is_same_v<Backend, ccl::cuda>) pipeline.set_execution({stream.get()});
  ccl::optim::Sgd<double, Backend> sgd;
  ccl::optim::SgdOptions sgd_options;
  sgd_options.lr = 0.2;
  auto group = sgd.add_group(sgd_options);
  pipeline.for_each_trainable_module(
      [&](const std::string& name, auto& module) { group.add(name, module); });
  TrainerOptions options;
  options.epochs = 2;
  options.batch_size = kGlobalBatch / comm.size();
  options.drop_last = true;
  options.seed = 13;
  options.top_k = {1, 2};
  options.progress = ProgressStyle::none;
  options.selection.metric = SelectBy::accuracy;
  const Set<Backend> set{&data, pipeline.execution()};
  Run run;
  if constexpr (std::is_same_v<Comm, ccl::dist::single>) {
    Trainer trainer(pipeline, sgd, options);
    run.reports = trainer.fit(set, &set);
  } else {
    Trainer trainer(pipeline, sgd, options, comm);
    run.reports = trainer.fit(set, &set);
  }
  auto take = [&](auto& p) {
    using ccl::view;
    RowMatrix<double> scratch;
    const auto values = ccl::host_view(view(p.value), scratch, pipeline.execution());
    for (Index i = 0; i < values.rows(); ++i)
      for (Index j = 0; j < values.cols(); ++j)
        run.parameters.push_back(values.data()[i * values.row_stride() + j]);
  };
  pipeline.for_each_student_parameter(take);
  pipeline.for_each_head_parameter(take);
  return run;
}

/// Largest parameter/figure difference relative to the largest parameter; accuracies equal.
bool same_training(const Run& want, const Run& got, const char* what, int rank) {
  bool ok =
      want.parameters.size() == got.parameters.size() && want.reports.size() == got.reports.size();
  double worst = 0, largest = 1e-300;
  for (std::size_t k = 0; ok && k < want.parameters.size(); ++k) {
    worst = std::max(worst, std::abs(want.parameters[k] - got.parameters[k]));
    largest = std::max(largest, std::abs(want.parameters[k]));
  }
  for (std::size_t e = 0; ok && e < want.reports.size(); ++e) {
    worst = std::max(worst, std::abs(want.reports[e].loss - got.reports[e].loss));
    worst = std::max(worst, std::abs(want.reports[e].eval.loss - got.reports[e].eval.loss));
    ok = want.reports[e].accuracy == got.reports[e].accuracy &&
         want.reports[e].eval.accuracy == got.reports[e].eval.accuracy;
  }
  ok = ok && worst / largest < 1e-10;
  std::printf(
      "rank %d: %s vs one CPU process on the global batch: largest difference %.3g "
      "(relative %.3g)%s\n",
      rank, what, worst, worst / largest, ok ? "" : "  FAILED");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  const bool use_nccl = argc > 1 && std::strcmp(argv[1], "--nccl") == 0;
  return ccl::dist::guard([&] {
    ccl::dist::mpi comm;
    const Data data;
    ccl::dist::single one;
    const Run reference = train<ccl::cpu>(one, data);
    // The same written-once code on the host first: the harness itself is checked everywhere.
    bool ok = same_training(reference, train<ccl::cpu>(comm, data), "host pipeline over dist::mpi",
                            comm.rank());
    const auto status = ccl::gpu::device_status();
    if (ok && !status.available()) {
      std::printf("SKIPPED: %s; device data-parallel training needs a GPU\n",
                  status.describe().c_str());
      return;
    }
    if (!ok) {
      // the host run already differs: no device run
    } else if (!use_nccl) {
      ok = same_training(reference, train<ccl::cuda>(comm, data), "device pipeline over dist::mpi",
                         comm.rank());
    } else {
#if defined(CCL_TEST_NCCL)
      if (status.count < comm.size()) {
        std::printf("SKIPPED: %d ranks need %d GPUs for NCCL, this machine has %d\n", comm.size(),
                    comm.size(), status.count);
        return;
      }
      ccl::dist::nccl device_comm(comm, comm.rank());
      ok = same_training(reference, train<ccl::cuda>(device_comm, data),
                         "device pipeline over dist::nccl", comm.rank());
#else
      std::printf("SKIPPED: built without NCCL\n");
      return;
#endif
    }
    int failed = ok ? 0 : 1;
    comm.all_reduce_sum(&failed, 1);
    if (failed != 0) throw ccl::error("device data-parallel training differs from the CPU run");
  });
}
