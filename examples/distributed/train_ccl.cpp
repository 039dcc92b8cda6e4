// CCL training under mpirun with pipeline::Trainer, reporting validation accuracy:
//
//   mpirun -np 2 distributed_ccl [epochs] [global_batch]      (srun -n 2 under Slurm)
//
// A video student (Conv3d -> synchronised BatchNorm3d -> ReLU -> Conv3d -> synchronised
// BatchNorm3d -> ReLU -> global average pool -> linear classifier) distils a frozen audio
// teacher's embeddings through a residual composition head with the CCL objective, on synthetic
// 1 x 4 x 8 x 8 clips of 5 classes. The objective runs on the global batch
// (dist::GlobalObjective: every rank's clips are negatives), the BatchNorms normalise by the
// global batch, and the Trainer shards each global batch, averages gradients and reduces the
// metrics. Rank 0 alone prints, logs and checkpoints.
//
// With the same global batch, `mpirun -np R` trains and reports as one process: the final line,
// "validation top-1 ...", is the same for every R (ctest example.distributed_ccl compares 1 and
// 2 ranks). Double precision makes that comparison exact in practice; float works the same way,
// with R-dependent rounding in the last bits.

#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/dist/global_objective.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/sync_batch_norm_layer.hpp>
#include <ccl/modality/modality.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <vector>

namespace {

using Scalar = double;
using ccl::Index;
using Matrix = ccl::RowMatrix<Scalar>;
using Clip = ccl::nn::Tensor<Scalar, 5>;
constexpr Index kT = 4, kH = 8, kW = 8, kClip = kT * kH * kW, kClasses = 5, kDim = 16;

/// Clips of 5 classes: a class's moving pattern plus noise; the teacher's embeddings are class
/// prototypes plus noise (a frozen teacher that knows its modality).
struct ClipSet {
  Clip clips;
  Matrix teacher;
  std::vector<std::int64_t> labels;

  struct Batch {
    Clip input;
    std::vector<std::int64_t> labels;
    std::tuple<Matrix> teacher_inputs;
  };

  ClipSet(Index n, std::uint64_t seed)
      : clips({n, 1, kT, kH, kW}), teacher(n, kDim), labels(std::size_t(n)) {
    ccl::Rng rng(seed), prototypes(2021);
    Matrix patterns(kClasses, kClip), embeddings(kClasses, kDim);
    prototypes.fill_normal(patterns);
    prototypes.fill_normal(embeddings);
    for (Index i = 0; i < n; ++i) {
      const Index y = rng.index(kClasses);
      labels[std::size_t(i)] = y;
      for (Index k = 0; k < kClip; ++k)
        clips.data()[i * kClip + k] = patterns(y, k) + rng.normal(0.0, 1.5);
      for (Index k = 0; k < kDim; ++k) teacher(i, k) = embeddings(y, k) + rng.normal(0.0, 0.3);
    }
  }

  Index size() const { return Index(labels.size()); }

  Batch load(const std::vector<Index>& indices) const {
    const Index b = Index(indices.size());
    Batch batch{Clip({b, 1, kT, kH, kW}), {}, {Matrix(b, kDim)}};
    for (Index r = 0; r < b; ++r) {
      const Index i = indices[std::size_t(r)];
      std::copy(clips.data() + i * kClip, clips.data() + (i + 1) * kClip,
                batch.input.data() + r * kClip);
      std::get<0>(batch.teacher_inputs).row(r) = teacher.row(i);
      batch.labels.push_back(labels[std::size_t(i)]);
    }
    return batch;
  }
};

void run(ccl::dist::mpi& comm, Index epochs, Index global_batch) {
  namespace nn = ccl::nn;
  using namespace ccl::pipeline;
  using Bn = ccl::dist::SyncBatchNorm3d<Scalar, ccl::dist::mpi>;
  if (global_batch % comm.size() != 0)
    throw ccl::error(ccl::detail::concat("distributed_ccl: the global batch ", global_batch,
                                         " is not divisible by ", comm.size(), " ranks"));
  // Every rank builds the model from the same seed: the same initial weights everywhere.
  ccl::Rng rng(7);
  auto conv1 = nn::Conv3d<Scalar>(nn::ConvOptions<3>(1, 8, 3).padding(1).bias(false), rng);
  auto conv2 = nn::Conv3d<Scalar>(nn::ConvOptions<3>(8, kDim, 3).padding(1).bias(false), rng);
  auto encoder =
      nn::sequential(std::move(conv1), Bn(comm, 8), nn::ReLU<Scalar, 5>{}, std::move(conv2),
                     Bn(comm, kDim), nn::ReLU<Scalar, 5>{}, nn::GlobalAvgPool<Scalar, 3>{});
  Student<decltype(encoder), Scalar> student(std::move(encoder), kDim, kClasses, rng);
  ccl::compose::Residual<Scalar> head(kDim, kDim, kClasses, rng);
  CclObjectiveOptions objective;
  objective.temperature = 0.5;
  auto pipeline = make_pipeline(
      std::move(student),
      branch<ccl::Audio>(teacher::Precomputed<Scalar>(kDim), std::move(head),
                         ccl::dist::global_objective(comm, CclObjective<Scalar>(objective))));

  ccl::optim::Sgd<Scalar> sgd;
  ccl::optim::SgdOptions sgd_options = ccl::optim::SgdOptions::official();
  sgd_options.lr = 0.05;
  add_optimizer_groups(sgd, pipeline, sgd_options, sgd_options);

  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = global_batch / comm.size();  // rows per rank
  options.drop_last = true;                         // what R ranks do, so 1 process reproduces them
  options.top_k = {1, 2};
  options.progress = ProgressStyle::lines;  // rank 0 only: the Trainer silences the others
  Trainer trainer(pipeline, sgd, options, comm);

  const ClipSet train(240, 1), validation(100, 2);
  trainer.fit(train, &validation);
  const EvalReport report = trainer.evaluate(validation);
  if (comm.rank() == 0)
    std::printf("ranks %d  global batch %ld  validation top-1 %.6f  top-2 %.6f  loss %.8f\n",
                comm.size(), long(global_batch), report.top(1), report.top(2), report.loss);
}

}  // namespace

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  const long epochs = argc > 1 ? std::atol(argv[1]) : 4;
  const long global_batch = argc > 2 ? std::atol(argv[2]) : 24;
  return ccl::dist::guard([&] {
    if (epochs <= 0 || global_batch <= 0)
      throw ccl::error("distributed_ccl: epochs and global_batch must be positive");
    ccl::dist::mpi comm;
    run(comm, epochs, global_batch);
  });
}
