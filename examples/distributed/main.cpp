// Data-parallel contrastive training with negatives from every rank, and its communication cost.
//
//   mpirun -np 2 distributed [steps] [batch_per_rank] [dim]
//
// Each rank trains the same two-tower model (a Linear student over one modality, a Linear
// projection of the other) on its DistributedSampler shard; instance NCE runs over the global
// batch (dist::global_pair_loss), gradients are averaged (dist::average_gradients). Rank 0 alone
// prints: the loss per step, samples per second, and the share of the step spent in the
// collectives (all-gather of the embeddings, gradient all-reduce), which scripts/bench-dist.sh
// compares between 1 and 2 ranks.

#include <ccl/dist/global_loss.hpp>
#include <ccl/dist/gradients.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/sampler.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/nn/linear.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

using Matrix = ccl::RowMatrix<float>;
using Clock = std::chrono::steady_clock;

/// Forwards every collective to dist::mpi and adds its wall time to `seconds`.
struct TimedMpi {
  ccl::dist::mpi inner;
  double seconds = 0;
  template <class F>
  void timed(F&& f) {
    const auto start = Clock::now();
    f();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
  int rank() const { return inner.rank(); }
  int size() const { return inner.size(); }
  template <class T>
  void all_reduce_sum(T* d, ccl::Index n) {
    timed([&] { inner.all_reduce_sum(d, n); });
  }
  template <class T>
  void all_gather(const T* l, ccl::Index n, T* g) {
    timed([&] { inner.all_gather(l, n, g); });
  }
  template <class T>
  void broadcast(T* d, ccl::Index n, int root) {
    timed([&] { inner.broadcast(d, n, root); });
  }
  void barrier() {
    timed([&] { inner.barrier(); });
  }
};

struct TwoTower {
  ccl::nn::Linear<float> student, teacher;
  TwoTower(ccl::Index in, ccl::Index out) : student(in, out), teacher(in, out) {
    ccl::Rng rng(1);
    student.reset_parameters(rng);
    teacher.reset_parameters(rng);
  }
  template <class Visit>
  void for_each_parameter(Visit&& visit) {
    student.for_each_parameter(visit);
    teacher.for_each_parameter(visit);
  }
};

void run(int steps, ccl::Index batch_per_rank, ccl::Index dim) {
  TimedMpi comm;
  const ccl::Index samples = batch_per_rank * comm.size() * steps;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal;
  const Matrix a = Matrix::NullaryExpr(samples, dim, [&] { return normal(rng); });
  const Matrix b = Matrix::NullaryExpr(samples, dim, [&] { return normal(rng); });
  TwoTower model(dim, dim);
  ccl::dist::broadcast_parameters(comm, model);
  ccl::loss::InstanceNce<float> nce(0.1);
  const ccl::dist::DistributedSampler sampler(samples, batch_per_rank, comm.rank(), comm.size(), 9);

  comm.seconds = 0;
  const auto start = Clock::now();
  for (int step = 0; step < steps; ++step) {
    const auto index = sampler.batch(0, step);
    Matrix xa(batch_per_rank, dim), xb(batch_per_rank, dim);
    for (ccl::Index i = 0; i < batch_per_rank; ++i) {
      xa.row(i) = a.row(index[std::size_t(i)]);
      xb.row(i) = b.row(index[std::size_t(i)]);
    }
    model.for_each_parameter([](auto& p) { p.zero_grad(); });
    const Matrix f = model.student.forward(ccl::EmbeddingView<const float>(xa));
    const Matrix g = model.teacher.forward(ccl::EmbeddingView<const float>(xb));
    auto loss = ccl::dist::global_pair_loss(comm, nce, ccl::EmbeddingView<const float>(f),
                                            ccl::EmbeddingView<const float>(g));
    model.student.backward(ccl::EmbeddingView<const float>(loss.grad_f));
    model.teacher.backward(ccl::EmbeddingView<const float>(loss.grad_g));
    ccl::dist::average_gradients(comm, model);
    model.for_each_parameter([](auto& p) { p.value -= 0.05f * p.grad; });
    if (comm.rank() == 0) std::printf("step %d  loss %.6f\n", step, double(loss.loss));
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  if (comm.rank() == 0)
    std::printf("ranks %d  global batch %ld  dim %ld  samples/s %.1f  communication %.1f%%\n",
                comm.size(), long(batch_per_rank * comm.size()), long(dim),
                double(batch_per_rank * comm.size() * steps) / total, 100.0 * comm.seconds / total);
}

}  // namespace

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 20;
  const long batch = argc > 2 ? std::atol(argv[2]) : 64;
  const long dim = argc > 3 ? std::atol(argv[3]) : 128;
  return ccl::dist::guard([&] {
    if (steps <= 0 || batch <= 0 || dim <= 0)
      throw ccl::error("distributed: steps, batch_per_rank and dim must be positive");
    run(steps, batch, dim);
  });
}
