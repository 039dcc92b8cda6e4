// Contrastive losses over the global batch on R ranks equal the single-process loss on the
// concatenated batch: value and both gradients to 1e-12 in double (run at 1-4 ranks by ctest).

#include <catch2/catch.hpp>

#include <ccl/dist/global_loss.hpp>
#include <ccl/dist/metrics.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/loss/symmetric.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using Matrix = ccl::RowMatrix<double>;
constexpr ccl::Index kRowsPerRank = 5;
constexpr ccl::Index kDim = 7;

/// The same global batch on every rank (fixed seed), so each rank can compute the reference.
struct GlobalBatch {
  Matrix f, g;
  std::vector<std::int64_t> labels;
  explicit GlobalBatch(int ranks) {
    std::mt19937_64 rng(1234);
    std::normal_distribution<double> normal;
    f = Matrix::NullaryExpr(kRowsPerRank * ranks, kDim, [&] { return normal(rng); });
    g = Matrix::NullaryExpr(kRowsPerRank * ranks, kDim, [&] { return normal(rng); });
    for (ccl::Index i = 0; i < f.rows(); ++i) labels.push_back(std::int64_t(i % 3));
  }
  Matrix f_rows(int rank) const { return f.middleRows(rank * kRowsPerRank, kRowsPerRank); }
  Matrix g_rows(int rank) const { return g.middleRows(rank * kRowsPerRank, kRowsPerRank); }
  std::vector<std::int64_t> label_rows(int rank) const {
    return {labels.begin() + rank * kRowsPerRank, labels.begin() + (rank + 1) * kRowsPerRank};
  }
};

template <class Loss>
void check_equals_single_process(Loss loss, bool with_labels) {
  ccl::dist::mpi comm;
  const GlobalBatch batch(comm.size());
  const int r = comm.rank();
  const Matrix f = batch.f_rows(r), g = batch.g_rows(r);
  const auto labels = with_labels ? batch.label_rows(r) : std::vector<std::int64_t>{};
  auto distributed = ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                                 ccl::EmbeddingView<const double>(g), labels,
                                                 /*gradient_scale=*/1.0);
  auto reference =
      with_labels ? loss(ccl::EmbeddingView<const double>(batch.f),
                         ccl::EmbeddingView<const double>(batch.g), ccl::LabelView(batch.labels))
                  : loss(ccl::EmbeddingView<const double>(batch.f),
                         ccl::EmbeddingView<const double>(batch.g));
  CHECK(std::abs(distributed.loss - reference.value) <= 1e-12);
  const Matrix ref_f = reference.grad_f.middleRows(r * kRowsPerRank, kRowsPerRank);
  const Matrix ref_g = reference.grad_g.middleRows(r * kRowsPerRank, kRowsPerRank);
  CHECK((distributed.grad_f - ref_f).cwiseAbs().maxCoeff() <= 1e-12);
  CHECK((distributed.grad_g - ref_g).cwiseAbs().maxCoeff() <= 1e-12);
  // The default scale multiplies by the rank count (for an averaged gradient all-reduce).
  auto scaled = ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                            ccl::EmbeddingView<const double>(g), labels);
  CHECK((scaled.grad_f - double(comm.size()) * ref_f).cwiseAbs().maxCoeff() <= 1e-12);
}

}  // namespace

TEST_CASE("instance NCE over the global batch equals the single-process loss") {
  check_equals_single_process(ccl::loss::InstanceNce<double>(0.1), false);
}

TEST_CASE("multi-class NCE over the global batch equals the single-process loss") {
  check_equals_single_process(ccl::loss::MultiClassNce<double>(0.2), true);
}

TEST_CASE("symmetric NCE over the global batch equals the single-process loss") {
  using Nce = ccl::loss::InstanceNce<double>;
  check_equals_single_process(ccl::loss::Symmetric<Nce, double>(Nce(0.1)), false);
}

TEST_CASE("the summed per-rank gradients equal the single-process gradient") {
  // Σ_r (scaled grad on r) / R, gathered, is the full gradient: what an averaged all-reduce of
  // parameter gradients sees when the parameters enter linearly.
  ccl::dist::mpi comm;
  const GlobalBatch batch(comm.size());
  ccl::loss::InstanceNce<double> loss(0.1);
  const Matrix f = batch.f_rows(comm.rank()), g = batch.g_rows(comm.rank());
  auto mine = ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                          ccl::EmbeddingView<const double>(g));
  Matrix column_sum = mine.grad_f.colwise().sum();
  comm.all_reduce_sum(column_sum.data(), column_sum.size());
  column_sum /= double(comm.size());
  auto reference =
      loss(ccl::EmbeddingView<const double>(batch.f), ccl::EmbeddingView<const double>(batch.g));
  const Matrix expected = reference.grad_f.colwise().sum();
  CHECK((column_sum - expected).cwiseAbs().maxCoeff() <= 1e-12);
}

TEST_CASE("bad inputs are a ccl::error on every rank, not a hang") {
  ccl::dist::mpi comm;
  ccl::loss::InstanceNce<double> loss(0.1);
  SECTION("mismatched shapes across ranks") {
    if (comm.size() < 2) return;
    const Matrix f = Matrix::Ones(comm.rank() == 1 ? 3 : 2, kDim), g = f;
    CHECK_THROWS_WITH(ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                                  ccl::EmbeddingView<const double>(g)),
                      Catch::Contains("rank 1 has batch [3"));
  }
  SECTION("NaN on one rank") {
    Matrix f = Matrix::Ones(2, kDim);
    if (comm.rank() == comm.size() - 1) f(1, 2) = std::numeric_limits<double>::quiet_NaN();
    const Matrix g = Matrix::Ones(2, kDim);
    CHECK_THROWS_WITH(ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                                  ccl::EmbeddingView<const double>(g)),
                      Catch::Contains("non-finite"));
  }
  SECTION("empty batch") {
    const Matrix f(0, kDim), g(0, kDim);
    CHECK_THROWS_WITH(ccl::dist::global_pair_loss(comm, loss, ccl::EmbeddingView<const double>(f),
                                                  ccl::EmbeddingView<const double>(g)),
                      Catch::Contains("empty batch"));
  }
}

TEST_CASE("single and mpi communicators model the concept; collectives are exact") {
  static_assert(ccl::dist::is_communicator_v<ccl::dist::single>);
  static_assert(ccl::dist::is_communicator_v<ccl::dist::mpi>);
  static_assert(!ccl::dist::is_communicator_v<int>);
  ccl::dist::mpi comm;
  double x[2] = {double(comm.rank()), 1.0};
  comm.all_reduce_sum(x, 2);
  CHECK(x[0] == double(comm.size() * (comm.size() - 1) / 2));
  CHECK(x[1] == double(comm.size()));
  std::int64_t value = comm.rank() == 0 ? 42 : -1;
  comm.broadcast(&value, 1, 0);
  CHECK(value == 42);
  CHECK_THROWS_WITH(comm.broadcast(&value, 1, comm.size()), Catch::Contains("is not a rank"));
  comm.barrier();
}

TEST_CASE("ratio metrics reduce numerators and denominators, not per-rank ratios") {
  ccl::dist::mpi comm;
  // Rank r evaluated r + 1 samples and got all of them right only on rank 0.
  const double correct = comm.rank() == 0 ? 1.0 : 0.0, evaluated = double(comm.rank() + 1);
  const double expected = 1.0 / double(comm.size() * (comm.size() + 1) / 2);
  CHECK(ccl::dist::ratio_over_ranks(comm, correct, evaluated) == Approx(expected).epsilon(1e-15));
}
