// Synchronised BatchNorm of convolutional features and a conv-student CCL pipeline over ranks:
//   * SyncBatchNormNd over R ranks equals nn::BatchNorm over the global batch (1e-12), for
//     [N, C, L], [N, C, H, W] and [N, C, T, H, W];
//   * its gradients match central finite differences (double, one process);
//   * three SGD steps of a conv student (Conv3d + SyncBatchNorm3d), the CCL objective on the
//     global batch (dist::GlobalObjective) and averaged gradients on R ranks equal one rank with
//     the global batch to 1e-10, also when the audio teacher is missing (all-zero rows, masked
//     out of the branch) for some rows and for a whole rank's shard.

#include "dist_pipeline_fixture.hpp"

#include <catch2/catch.hpp>

#include <ccl/dist/gradients.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/sampler.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace dist_fixture;

namespace {

template <int Spatial>
ccl::nn::Tensor<double, Spatial + 2> random_tensor(Index n, Index c, std::mt19937_64& rng,
                                                   double shift = 0) {
  typename ccl::nn::Tensor<double, Spatial + 2>::ShapeType shape;
  shape[0] = n;
  shape[1] = c;
  for (int k = 0; k < Spatial; ++k) shape[std::size_t(2 + k)] = 2 + k;
  ccl::nn::Tensor<double, Spatial + 2> t(shape);
  std::normal_distribution<double> normal(shift, 1.0);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = normal(rng);
  return t;
}

template <int Spatial>
ccl::nn::Tensor<double, Spatial + 2> rows_of(const ccl::nn::Tensor<double, Spatial + 2>& t,
                                             Index first, Index count) {
  auto shape = t.shape();
  shape[0] = count;
  const Index per = t.size() / t.batch();
  return ccl::nn::Tensor<double, Spatial + 2>(shape, t.data() + first * per);
}

template <int Spatial>
void check_sync_equals_global() {
  ccl::dist::mpi comm;
  const Index b = 3, c = 2, rank = comm.rank();
  std::mt19937_64 rng(21 + Spatial);
  const auto x = random_tensor<Spatial>(b * comm.size(), c, rng, 1.5);
  const auto dy = random_tensor<Spatial>(b * comm.size(), c, rng);
  ccl::nn::BatchNorm<double, Spatial> whole(c);
  ccl::dist::SyncBatchNormNd<double, Spatial, ccl::dist::mpi> part(comm, c);
  for (auto* p : {&whole.weight(), &part.weight()}) p->value << 0.7, -1.3;
  for (auto* p : {&whole.bias(), &part.bias()}) p->value << 0.2, 0.4;
  whole.zero_grad();
  part.zero_grad();
  const auto y_all = whole.forward(x);
  ccl::nn::Tensor<double, Spatial + 2> dx_all(x.shape(), 0.0);
  whole.backward(dy, &dx_all);
  const auto x_mine = rows_of<Spatial>(x, rank * b, b);
  const auto y = part.forward(x_mine);
  ccl::nn::Tensor<double, Spatial + 2> dx(x_mine.shape(), 0.0);
  part.backward(rows_of<Spatial>(dy, rank * b, b), &dx);
  const auto y_want = rows_of<Spatial>(y_all, rank * b, b);
  const auto dx_want = rows_of<Spatial>(dx_all, rank * b, b);
  double worst = 0;
  for (Index i = 0; i < y.size(); ++i) {
    worst = std::max(worst, std::abs(y.data()[i] - y_want.data()[i]));
    worst = std::max(worst, std::abs(dx.data()[i] - dx_want.data()[i]));
  }
  for (Index j = 0; j < c; ++j) {
    worst = std::max(worst, std::abs(part.running_mean()(0, j) - whole.running_mean()(0, j)));
    worst = std::max(worst, std::abs(part.running_var()(0, j) - whole.running_var()(0, j)));
  }
  // γ and β gradients are this rank's sums: their sum over ranks is the global gradient.
  std::vector<double> grads{part.weight().grad(0, 0), part.weight().grad(0, 1),
                            part.bias().grad(0, 0), part.bias().grad(0, 1)};
  comm.all_reduce_sum(grads.data(), 4);
  const std::vector<double> want{whole.weight().grad(0, 0), whole.weight().grad(0, 1),
                                 whole.bias().grad(0, 0), whole.bias().grad(0, 1)};
  worst = std::max(worst, largest_difference(grads, want));
  INFO("spatial rank " << Spatial << ", ranks " << comm.size() << ", largest difference " << worst);
  CHECK(worst <= 1e-12);

  // Inference uses the running statistics and communicates nothing: shard sizes may differ.
  part.eval();
  whole.eval();
  const Index mine = rank == 0 ? 2 : 1;
  const auto x_eval = rows_of<Spatial>(x, 0, mine);
  const auto y_eval = part.forward(x_eval);
  const auto y_eval_want = whole.forward(x_eval);
  double eval_worst = 0;
  for (Index i = 0; i < y_eval.size(); ++i)
    eval_worst = std::max(eval_worst, std::abs(y_eval.data()[i] - y_eval_want.data()[i]));
  CHECK(eval_worst <= 1e-12);
}

template <int Spatial>
void check_finite_differences(bool training) {
  ccl::dist::single one;
  std::mt19937_64 rng(40 + Spatial);
  auto x = random_tensor<Spatial>(3, 2, rng, 2.0);
  const auto w = random_tensor<Spatial>(3, 2, rng);
  ccl::dist::SyncBatchNormNd<double, Spatial, ccl::dist::single> norm(one, 2);
  norm.weight().value << 0.5, -1.5;
  norm.bias().value << 0.1, -0.3;
  norm.running_mean() << 0.3, -0.2;
  norm.running_var() << 1.7, 0.6;
  norm.train(training);
  auto loss = [&] {
    auto copy = norm;  // the running statistics of `norm` stay as they are
    const auto& y = copy.forward(x);
    double sum = 0;
    for (Index i = 0; i < y.size(); ++i) sum += y.data()[i] * w.data()[i];
    return sum;
  };
  norm.zero_grad();
  auto probe = norm;
  probe.forward(x);
  ccl::nn::Tensor<double, Spatial + 2> grad_x(x.shape(), 0.0);
  probe.backward(w, &grad_x);
  const double h = 1e-6;
  double worst = 0;
  for (Index i = 0; i < x.size(); ++i) {
    const double keep = x.data()[i];
    x.data()[i] = keep + h;
    const double up = loss();
    x.data()[i] = keep - h;
    const double down = loss();
    x.data()[i] = keep;
    worst = std::max(worst, std::abs((up - down) / (2 * h) - grad_x.data()[i]));
  }
  auto check_parameter = [&](ccl::Parameter<double>& p, const ccl::Parameter<double>& computed) {
    for (Index j = 0; j < 2; ++j) {
      const double keep = p.value(0, j);
      p.value(0, j) = keep + h;
      const double up = loss();
      p.value(0, j) = keep - h;
      const double down = loss();
      p.value(0, j) = keep;
      worst = std::max(worst, std::abs((up - down) / (2 * h) - computed.grad(0, j)));
    }
  };
  check_parameter(norm.weight(), probe.weight());
  check_parameter(norm.bias(), probe.bias());
  INFO("spatial rank " << Spatial << (training ? ", training" : ", eval")
                       << ": largest |finite difference - gradient| " << worst);
  CHECK(worst <= 1e-7);
}

/// The pipeline's trainable parameters as one model, for broadcast and gradient averaging.
template <class Pipeline>
struct Trainable {
  Pipeline* p;
  template <class Visit>
  void for_each_parameter(Visit&& visit) {
    p->for_each_student_parameter(visit);
    p->for_each_head_parameter(visit);
  }
};

/// Steps [0, steps) of SGD on global batches of `global_batch` rows; returns the parameters and
/// running statistics, and the global objective of each step (the mean of the ranks').
template <class Comm>
std::vector<double> train_steps(Comm& comm, Index global_batch, int steps,
                                std::vector<double>* objectives = nullptr,
                                const ClipSet& data = ClipSet(40, 3)) {
  auto pipeline = make_pipeline(comm);
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline, 0.2);
  Trainable<decltype(pipeline)> trainable{&pipeline};
  ccl::dist::broadcast_parameters(comm, trainable);
  const ccl::dist::DistributedSampler sampler(data.size(), global_batch / comm.size(), comm.rank(),
                                              comm.size(), /*seed=*/9);
  ccl::dist::GradientSyncOptions sync;
  sync.bucket_elements = 16;  // several buckets
  for (int step = 0; step < steps; ++step) {
    const auto indices = sampler.batch(/*epoch=*/0, step);
    const auto batch = data.load(indices);
    pipeline.set_batch_indices(indices);
    sgd.zero_grad();
    const auto result = pipeline.step(batch.input, batch.labels, std::get<0>(batch.teacher_inputs));
    ccl::dist::average_gradients(comm, trainable, sync);
    sgd.step();
    double objective = result.student_objective;
    comm.all_reduce_sum(&objective, 1);
    if (objectives != nullptr) objectives->push_back(objective / comm.size());
  }
  return flatten(pipeline);
}

}  // namespace

TEST_CASE("SyncBatchNormNd over R ranks equals BatchNorm over the global batch") {
  check_sync_equals_global<1>();
  check_sync_equals_global<2>();
  check_sync_equals_global<3>();
}

TEST_CASE("SyncBatchNormNd gradients match finite differences (double, one process)") {
  check_finite_differences<1>(true);
  check_finite_differences<3>(true);
  check_finite_differences<3>(false);
}

TEST_CASE("SyncBatchNormNd reports a NaN on any rank on every rank") {
  ccl::dist::mpi comm;
  std::mt19937_64 rng(3);
  auto x = random_tensor<2>(2, 2, rng);
  if (comm.rank() == comm.size() - 1) x.data()[0] = NAN;
  ccl::dist::SyncBatchNorm2d<double, ccl::dist::mpi> norm(comm, 2);
  CHECK_THROWS_WITH(norm.forward(x), Catch::Contains("non-finite global statistics"));
}

TEST_CASE(
    "three SGD steps of a conv-student CCL pipeline on R ranks equal one rank on the global "
    "batch") {
  ccl::dist::mpi comm;
  const Index global_batch = 12;  // divisible by 1, 2, 3 and 4 ranks
  ccl::dist::single one;
  std::vector<double> want_objectives, objectives;
  const auto reference = train_steps(one, global_batch, 3, &want_objectives);
  const auto distributed = train_steps(comm, global_batch, 3, &objectives);
  const auto initial = train_steps(one, global_batch, 0);
  const double worst = largest_difference(reference, distributed);
  const double moved = largest_difference(reference, initial);
  INFO("ranks " << comm.size() << ": largest parameter difference " << worst
                << ", largest change over the 3 steps " << moved);
  CHECK(moved > 1e-3);  // the steps did train
  CHECK(worst <= 1e-10);
  CHECK(largest_difference(want_objectives, objectives) <= 1e-10);
}

TEST_CASE("missing teachers: a rank whose shard has no teacher row still takes part in the step") {
  // The teacher rows of the last rank's shard of step 1 (and of two more samples) are all zero:
  // the branch masks them, so that rank brings no row to the global objective at that step. On
  // one rank the whole global batch of step 1 lacks a teacher, and the branch has no term there.
  ccl::dist::mpi comm;
  const Index global_batch = 12;
  ClipSet data(40, 3);
  const ccl::dist::DistributedSampler last(data.size(), global_batch / comm.size(), comm.size() - 1,
                                           comm.size(), /*seed=*/9);
  std::vector<Index> missing = last.batch(0, 1);
  missing.push_back(last.batch(0, 0).front());
  missing.push_back(last.batch(0, 2).back());
  for (Index i : missing) data.teacher.row(i).setZero();
  ccl::dist::single one;
  std::vector<double> want_objectives, objectives;
  const auto reference = train_steps(one, global_batch, 3, &want_objectives, data);
  const auto distributed = train_steps(comm, global_batch, 3, &objectives, data);
  const double worst = largest_difference(reference, distributed);
  INFO("ranks " << comm.size() << ": largest parameter difference " << worst);
  CHECK(worst <= 1e-10);
  CHECK(largest_difference(want_objectives, objectives) <= 1e-10);
}

TEST_CASE("SyncBatchNorm3d in float over R ranks equals BatchNorm3d on the global batch") {
  // Statistics are accumulated in double whatever the scalar: float agrees to float rounding.
  ccl::dist::mpi comm;
  const Index b = 2, c = 3, rank = comm.rank();
  std::mt19937_64 rng(5);
  const auto x64 = random_tensor<3>(b * comm.size(), c, rng, 3.0);
  const auto dy64 = random_tensor<3>(b * comm.size(), c, rng);
  ccl::nn::Tensor<float, 5> x(x64.shape()), dy(dy64.shape());
  for (Index i = 0; i < x.size(); ++i) {
    x.data()[i] = float(x64.data()[i]);
    dy.data()[i] = float(dy64.data()[i]);
  }
  ccl::nn::BatchNorm3d<float> whole(c);
  ccl::dist::SyncBatchNorm3d<float, ccl::dist::mpi> part(comm, c);
  const auto y_all = whole.forward(x);
  ccl::nn::Tensor<float, 5> dx_all(x.shape(), 0.0f);
  whole.backward(dy, &dx_all);
  const Index per = x.size() / x.batch();
  auto shape = x.shape();
  shape[0] = b;
  const ccl::nn::Tensor<float, 5> x_mine(shape, x.data() + rank * b * per),
      dy_mine(shape, dy.data() + rank * b * per);
  const auto y = part.forward(x_mine);
  ccl::nn::Tensor<float, 5> dx(shape, 0.0f);
  part.backward(dy_mine, &dx);
  double worst = 0;
  for (Index i = 0; i < y.size(); ++i) {
    worst = std::max(worst, double(std::abs(y.data()[i] - y_all.data()[rank * b * per + i])));
    worst = std::max(worst, double(std::abs(dx.data()[i] - dx_all.data()[rank * b * per + i])));
  }
  INFO("float, ranks " << comm.size() << ": largest difference " << worst);
  CHECK(worst <= 1e-5);
}

namespace {

/// Two SGD steps of the R(2+1)D student (narrow widths, every BatchNorm synchronised through
/// r2plus1d's make_norm) with the CCL objective on the global batch.
template <class Comm>
std::vector<double> train_r2plus1d(Comm& comm, Index global_batch) {
  using namespace ccl::pipeline;
  const ClipSet data(24, 3);
  ccl::nn::encoders::R2Plus1dOptions o = ccl::nn::encoders::R2Plus1dOptions::narrow(1);
  o.widths = {4, 4, 6, 6, kWidth};
  ccl::Rng rng(5);
  auto encoder = ccl::nn::encoders::r2plus1d<double>(
      o, rng, [&](Index c) { return ccl::dist::SyncBatchNorm3d<double, Comm>(comm, c); });
  Student<decltype(encoder), double> student(std::move(encoder), kWidth, kClasses, rng);
  ccl::compose::Residual<double> head(kTeacherDim, kWidth, kClasses, rng);
  auto pipeline = ccl::pipeline::make_pipeline(
      std::move(student),
      branch<ccl::Audio>(teacher::Precomputed<double>(kTeacherDim), std::move(head),
                         ccl::dist::global_objective(comm, CclObjective<double>())));
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline, 0.2);
  Trainable<decltype(pipeline)> trainable{&pipeline};
  const ccl::dist::DistributedSampler sampler(data.size(), global_batch / comm.size(), comm.rank(),
                                              comm.size(), /*seed=*/9);
  for (int step = 0; step < 2; ++step) {
    const auto indices = sampler.batch(0, step);
    const auto batch = data.load(indices);
    sgd.zero_grad();
    pipeline.step(batch.input, batch.labels, std::get<0>(batch.teacher_inputs));
    ccl::dist::average_gradients(comm, trainable);
    sgd.step();
  }
  return flatten(pipeline);
}

}  // namespace

TEST_CASE("an R(2+1)D student with synchronised BatchNorms on R ranks equals one rank") {
  ccl::dist::mpi comm;
  ccl::dist::single one;
  const auto reference = train_r2plus1d(one, 12);
  const auto distributed = train_r2plus1d(comm, 12);
  const double worst = largest_difference(reference, distributed);
  INFO("R(2+1)D, ranks " << comm.size() << ": largest parameter difference " << worst);
  CHECK(worst <= 1e-10);
}
