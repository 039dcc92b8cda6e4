// The memory-bank baselines CRD and CMC: an independent long-double loop reference of the NCE and
// softmax objectives over given banks and contrast indices, central finite differences in double
// with the banks frozen, the class-aware (CRD) and label-agnostic (CMC) samplers, the frozen Z,
// the momentum update, determinism for a seed, and bad input.

#include <ccl/core/rng.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/crd.hpp>

#include "support/finite_difference.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::testing::numeric_gradient;
using ccl::testing::relative_error;
namespace bl = ccl::loss::baselines;

namespace {

using Matrix = RowMatrix<double>;
using Real = long double;

constexpr double fd_tolerance = 1e-7;

Matrix random_matrix(Index rows, Index cols, std::uint64_t seed, double scale = 1.0) {
  ccl::Rng rng(seed);
  Matrix m(rows, cols);
  rng.fill_normal(m, 0.0, scale);
  return m;
}

std::vector<Real> unit_row(const Matrix& e, Index i) {
  Real norm = 0;
  for (Index k = 0; k < e.cols(); ++k) norm += Real(e(i, k)) * Real(e(i, k));
  norm = std::sqrt(norm);
  std::vector<Real> u(std::size_t(e.cols()));
  for (Index k = 0; k < e.cols(); ++k) u[std::size_t(k)] = Real(e(i, k)) / norm;
  return u;
}

/// Scores exp(M[idx_ik]·u_i / T) or the logits M[idx_ik]·u_i / T of one side.
std::vector<std::vector<Real>> reference_logits(const Matrix& e, const Matrix& memory,
                                                const bl::ContrastIndices& idx, Real t) {
  std::vector<std::vector<Real>> x(std::size_t(e.rows()));
  for (Index i = 0; i < e.rows(); ++i) {
    const auto u = unit_row(e, i);
    for (Index k = 0; k < idx.cols(); ++k) {
      Real dot = 0;
      for (Index d = 0; d < e.cols(); ++d) dot += Real(memory(idx(i, k), d)) * u[std::size_t(d)];
      x[std::size_t(i)].push_back(dot / t);
    }
  }
  return x;
}

Real reference_z(const std::vector<std::vector<Real>>& x, Index n) {
  Real sum = 0;
  std::size_t count = 0;
  for (const auto& row : x)
    for (Real v : row) {
      sum += std::exp(v);
      ++count;
    }
  return sum / Real(count) * Real(n);
}

/// RepDistiller's ContrastLoss on P = exp(x) / Z, written as in the reference.
Real reference_nce(const std::vector<std::vector<Real>>& x, Real z, Index n) {
  const Real m = Real(x[0].size() - 1);
  const Real pn = 1 / Real(n);
  const Real eps = 1e-7L;
  Real total = 0;
  for (const auto& row : x) {
    const Real p0 = std::exp(row[0]) / z;
    total += std::log(p0 / (p0 + m * pn + eps));
    for (std::size_t k = 1; k < row.size(); ++k) {
      const Real p = std::exp(row[k]) / z;
      total += std::log(m * pn / (p + m * pn + eps));
    }
  }
  return -total / Real(x.size());
}

Real reference_softmax(const std::vector<std::vector<Real>>& x) {
  Real total = 0;
  for (const auto& row : x) {
    Real sum = 0;
    for (Real v : row) sum += std::exp(v);
    total -= row[0] - std::log(sum);
  }
  return total / Real(x.size());
}

std::vector<int> make_labels(Index n, int classes) {
  std::vector<int> labels;
  for (Index i = 0; i < n; ++i) labels.push_back(int((i * 7) % classes));
  return labels;
}

bl::CrdOptions small_options(Index k) {
  bl::CrdOptions options;
  options.negatives = k;
  return options;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CRD

TEST_CASE("CRD agrees with an independent loop reference and freezes Z at the first batch",
          "[loss][baselines][crd]") {
  const Index n = 30, dim = 4, b = 5;
  const auto labels = make_labels(n, 3);
  bl::Crd<double> crd(dim, labels, small_options(6), /*seed=*/3);
  const Matrix es = random_matrix(b, dim, 1), et = random_matrix(b, dim, 2);
  const std::vector<int> indices{0, 4, 9, 17, 29};
  const auto idx = crd.sample(indices);
  const Matrix ms = crd.memory_student(), mt = crd.memory_teacher();

  const auto xs = reference_logits(es, mt, idx, 0.07L);  // student anchor vs teacher bank
  const auto xt = reference_logits(et, ms, idx, 0.07L);  // teacher anchor vs student bank
  const Real zs = reference_z(xs, n), zt = reference_z(xt, n);
  const double value = crd.score(es, et, idx, 1.0, {}, {});
  CHECK(crd.z_student() == Approx(double(zs)).epsilon(1e-12));
  CHECK(crd.z_teacher() == Approx(double(zt)).epsilon(1e-12));
  CHECK(value == Approx(double(reference_nce(xs, zs, n) + reference_nce(xt, zt, n))).epsilon(1e-12));

  // A second batch keeps Z.
  const Matrix es2 = random_matrix(b, dim, 5), et2 = random_matrix(b, dim, 6);
  const double value2 = crd.score(es2, et2, idx, 1.0, {}, {});
  CHECK(crd.z_student() == Approx(double(zs)).epsilon(1e-12));
  CHECK(value2 == Approx(double(reference_nce(reference_logits(es2, mt, idx, 0.07L), zs, n) +
                                reference_nce(reference_logits(et2, ms, idx, 0.07L), zt, n)))
                      .epsilon(1e-12));
  // score() leaves the banks alone.
  CHECK(crd.memory_student() == ms);
  CHECK(crd.memory_teacher() == mt);
  CHECK(bl::Crd<double>::default_beta == 0.8);
}

TEST_CASE("CRD gradients match central finite differences with the banks frozen",
          "[loss][baselines][crd][grad]") {
  const Index n = 25, dim = 5, b = 4;
  const auto labels = make_labels(n, 4);
  bl::CrdOptions options = small_options(7);
  options.temperature = 0.5;  // keeps the FD step well inside the curvature
  bl::Crd<double> crd(dim, labels, options, 11);
  Matrix es = random_matrix(b, dim, 21), et = random_matrix(b, dim, 22);
  const auto idx = crd.sample(std::vector<int>{3, 8, 8, 20});
  crd.score(es, et, idx, 1.0, {}, {});  // fixes Z
  Matrix gs = Matrix::Zero(b, dim), gt = Matrix::Zero(b, dim);
  crd.score(es, et, idx, 1.0, ccl::mutable_view(gs), ccl::mutable_view(gt));
  auto value = [&] { return double(crd.score(es, et, idx, 1.0, {}, {})); };
  CHECK(relative_error(gs, numeric_gradient(es, value)) < fd_tolerance);
  CHECK(relative_error(gt, numeric_gradient(et, value)) < fd_tolerance);
  // The embeddings are L2-normalised inside: dL/de_i is orthogonal to e_i.
  for (Index i = 0; i < b; ++i) CHECK(std::abs(gs.row(i).dot(es.row(i))) < 1e-12);
  // With the default T = 0.07 too.
  bl::Crd<double> sharp(dim, labels, small_options(7), 12);
  const auto idx2 = sharp.sample(std::vector<int>{1, 2, 3, 4});
  sharp.score(es, et, idx2, 1.0, {}, {});
  gs.setZero();
  sharp.score(es, et, idx2, 1.0, ccl::mutable_view(gs), {});
  auto sharp_value = [&] { return double(sharp.score(es, et, idx2, 1.0, {}, {})); };
  CHECK(relative_error(gs, numeric_gradient(es, sharp_value)) < 1e-6);
}

TEST_CASE("CRD's gathered and whole-bank scoring paths both match the reference and FD",
          "[loss][baselines][crd][grad]") {
  // K + 1 < N/4 gathers K + 1 bank rows per anchor; larger K scores the whole bank by one GEMM.
  const Index n = 40, dim = 4, b = 3;
  const auto labels = make_labels(n, 4);
  for (Index k : {Index(3), Index(25), Index(100)}) {
    bl::CrdOptions options = small_options(k);
    options.temperature = 0.5;
    bl::Crd<double> crd(dim, labels, options, 13);
    Matrix es = random_matrix(b, dim, 91), et = random_matrix(b, dim, 92);
    const auto idx = crd.sample(std::vector<int>{0, 17, 33});
    const auto xs = reference_logits(es, crd.memory_teacher(), idx, 0.5L);
    const auto xt = reference_logits(et, crd.memory_student(), idx, 0.5L);
    const Real zs = reference_z(xs, n), zt = reference_z(xt, n);
    CHECK(crd.score(es, et, idx, 1.0, {}, {}) ==
          Approx(double(reference_nce(xs, zs, n) + reference_nce(xt, zt, n))).epsilon(1e-12));
    Matrix gs = Matrix::Zero(b, dim), gt = Matrix::Zero(b, dim);
    crd.score(es, et, idx, 1.0, ccl::mutable_view(gs), ccl::mutable_view(gt));
    auto value = [&] { return double(crd.score(es, et, idx, 1.0, {}, {})); };
    CHECK(relative_error(gs, numeric_gradient(es, value)) < fd_tolerance);
    CHECK(relative_error(gt, numeric_gradient(et, value)) < fd_tolerance);
  }
}

TEST_CASE("CRD draws class-aware negatives, deterministically for a seed",
          "[loss][baselines][crd][sampling]") {
  const Index n = 40;
  const auto labels = make_labels(n, 4);  // 10 per class, 30 others for each sample
  const std::vector<int> batch{0, 5, 13, 39};
  SECTION("K <= others: distinct negatives of other classes") {
    bl::Crd<double> crd(3, labels, small_options(30), 7);
    const auto idx = crd.sample(batch);
    REQUIRE(idx.cols() == 31);
    for (Index i = 0; i < idx.rows(); ++i) {
      CHECK(idx(i, 0) == batch[std::size_t(i)]);
      std::set<Index> seen;
      for (Index k = 1; k < idx.cols(); ++k) {
        CHECK(labels[std::size_t(idx(i, k))] != labels[std::size_t(batch[std::size_t(i)])]);
        seen.insert(idx(i, k));
      }
      CHECK(seen.size() == 30);  // without replacement: all 30 other-class samples
    }
  }
  SECTION("K > others: with replacement, still other classes") {
    bl::Crd<double> crd(3, labels, small_options(100), 7);
    const auto idx = crd.sample(batch);
    for (Index i = 0; i < idx.rows(); ++i)
      for (Index k = 1; k < idx.cols(); ++k)
        CHECK(labels[std::size_t(idx(i, k))] != labels[std::size_t(batch[std::size_t(i)])]);
  }
  SECTION("uniform over the other classes") {
    bl::Crd<double> crd(3, labels, small_options(3), 9);
    std::vector<int> counts(std::size_t(n), 0);
    const int draws = 3000;
    for (int r = 0; r < draws; ++r) {
      const auto idx = crd.sample(std::vector<int>{0});
      for (Index k = 1; k < idx.cols(); ++k) ++counts[std::size_t(idx(0, k))];
    }
    // 9000 draws over 30 candidates: 300 expected each, sd ≈ 16.
    for (Index j = 0; j < n; ++j) {
      if (labels[std::size_t(j)] == labels[0]) {
        CHECK(counts[std::size_t(j)] == 0);
      } else {
        CHECK(std::abs(counts[std::size_t(j)] - 300) < 90);
      }
    }
  }
  SECTION("same seed, same draws; the Rng state can be saved and restored") {
    bl::Crd<double> a(3, labels, small_options(5), 42), b(3, labels, small_options(5), 42);
    CHECK(a.memory_student() == b.memory_student());
    CHECK(a.sample(batch) == b.sample(batch));
    const std::string state = a.rng().state();
    const auto first = a.sample(batch);
    a.rng().set_state(state);
    CHECK(a.sample(batch) == first);
    bl::Crd<double> c(3, labels, small_options(5), 43);
    CHECK(c.memory_student() != a.memory_student());
  }
}

TEST_CASE("CRD accumulate = sample + score + momentum update of both banks",
          "[loss][baselines][crd]") {
  const Index n = 20, dim = 3;
  const auto labels = make_labels(n, 2);
  bl::Crd<double> stepped(dim, labels, small_options(4), 5), manual(dim, labels, small_options(4), 5);
  const Matrix es = random_matrix(3, dim, 31), et = random_matrix(3, dim, 32);
  const std::vector<int> indices{2, 7, 11};
  std::vector<int> batch_labels;
  for (int i : indices) batch_labels.push_back(labels[std::size_t(i)]);
  const Matrix ms_before = stepped.memory_student(), mt_before = stepped.memory_teacher();

  Matrix gs = Matrix::Zero(3, dim), gt = Matrix::Zero(3, dim);
  const double value = stepped.accumulate(es, et, batch_labels, indices, 0.8,
                                          ccl::mutable_view(gs), ccl::mutable_view(gt));
  const auto idx = manual.sample(indices);
  Matrix gs2 = Matrix::Zero(3, dim), gt2 = Matrix::Zero(3, dim);
  CHECK(value == Approx(manual.score(es, et, idx, 0.8, ccl::mutable_view(gs2), ccl::mutable_view(gt2))).epsilon(1e-15));
  CHECK(relative_error(gs, gs2) < 1e-15);
  CHECK(relative_error(gt, gt2) < 1e-15);
  manual.update_memory(es, et, indices);
  CHECK(stepped.memory_student() == manual.memory_student());

  // M[i] ← normalise(0.5 M[i] + 0.5 ê_i) at the batch's indices only.
  for (Index r = 0; r < n; ++r) {
    const auto it = std::find(indices.begin(), indices.end(), int(r));
    if (it == indices.end()) {
      CHECK(stepped.memory_student().row(r) == ms_before.row(r));
      continue;
    }
    const Index i = Index(it - indices.begin());
    const Eigen::RowVectorXd s_new = 0.5 * ms_before.row(r) + 0.5 * es.row(i).normalized();
    const Eigen::RowVectorXd t_new = 0.5 * mt_before.row(r) + 0.5 * et.row(i).normalized();
    CHECK((stepped.memory_student().row(r) - s_new.normalized()).norm() < 1e-15);
    CHECK((stepped.memory_teacher().row(r) - t_new.normalized()).norm() < 1e-15);
  }
}

// ---------------------------------------------------------------------------------------------
// CMC

TEST_CASE("CMC: NCE and softmax objectives agree with the loop reference",
          "[loss][baselines][cmc]") {
  const Index n = 30, dim = 4, b = 4;
  const Matrix es = random_matrix(b, dim, 41), et = random_matrix(b, dim, 42);
  const std::vector<int> indices{1, 6, 7, 22};
  for (auto objective : {bl::ContrastObjective::nce, bl::ContrastObjective::softmax}) {
    bl::CmcOptions options;
    options.negatives = 8;
    options.objective = objective;
    bl::Cmc<double> cmc(dim, n, options, 17);
    const auto idx = cmc.sample(indices);
    const Matrix ms = cmc.memory_student(), mt = cmc.memory_teacher();
    const auto xs = reference_logits(es, mt, idx, 0.07L);
    const auto xt = reference_logits(et, ms, idx, 0.07L);
    const double value = cmc.score(es, et, idx, 1.0, {}, {});
    if (objective == bl::ContrastObjective::nce) {
      const Real zs = reference_z(xs, n), zt = reference_z(xt, n);
      CHECK(value == Approx(double(reference_nce(xs, zs, n) + reference_nce(xt, zt, n))).epsilon(1e-12));
    } else {
      CHECK(value == Approx(double(reference_softmax(xs) + reference_softmax(xt))).epsilon(1e-12));
      CHECK(cmc.z_student() < 0);  // the softmax form never uses Z
    }
  }
}

TEST_CASE("CMC gradients match central finite differences", "[loss][baselines][cmc][grad]") {
  for (auto objective : {bl::ContrastObjective::nce, bl::ContrastObjective::softmax}) {
    bl::CmcOptions options;
    options.negatives = 6;
    options.objective = objective;
    options.temperature = 0.3;
    bl::Cmc<double> cmc(5, 20, options, 23);
    Matrix es = random_matrix(3, 5, 51), et = random_matrix(3, 5, 52);
    const auto idx = cmc.sample(std::vector<int>{0, 10, 19});
    cmc.score(es, et, idx, 1.0, {}, {});
    Matrix gs = Matrix::Zero(3, 5), gt = Matrix::Zero(3, 5);
    cmc.score(es, et, idx, 1.0, ccl::mutable_view(gs), ccl::mutable_view(gt));
    auto value = [&] { return double(cmc.score(es, et, idx, 1.0, {}, {})); };
    CHECK(relative_error(gs, numeric_gradient(es, value)) < fd_tolerance);
    CHECK(relative_error(gt, numeric_gradient(et, value)) < fd_tolerance);
  }
}

TEST_CASE("CMC negatives are label-agnostic uniform draws over the whole dataset",
          "[loss][baselines][cmc][sampling]") {
  const Index n = 10;
  bl::CmcOptions options;
  options.negatives = 50;
  bl::Cmc<double> cmc(3, n, options, 29);
  std::vector<int> counts(std::size_t(n), 0);
  for (int r = 0; r < 200; ++r) {
    const auto idx = cmc.sample(std::vector<int>{4});
    CHECK(idx(0, 0) == 4);
    for (Index k = 1; k < idx.cols(); ++k) ++counts[std::size_t(idx(0, k))];
  }
  // 10,000 draws over 10 indices, the own index included: 1000 each, sd ≈ 30.
  for (int c : counts) CHECK(std::abs(c - 1000) < 150);
  // A step updates the banks and is deterministic for a seed.
  bl::Cmc<double> a(3, n, options, 31), b(3, n, options, 31);
  const Matrix es = random_matrix(2, 3, 61), et = random_matrix(2, 3, 62);
  CHECK(a.accumulate(es, et, {}, std::vector<int>{1, 2}, 1.0, {}, {}) ==
        b.accumulate(es, et, {}, std::vector<int>{1, 2}, 1.0, {}, {}));
  CHECK(a.memory_teacher() == b.memory_teacher());
  CHECK(std::abs(a.memory_student().row(1).norm() - 1.0) < 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("memory-bank baselines reject bad input with a clear ccl::error",
          "[loss][baselines][crd][cmc][errors]") {
  const auto labels = make_labels(12, 3);
  bl::Crd<double> crd(4, labels, small_options(3), 1);
  bl::Cmc<double> cmc(4, 12, {}, 1);
  const Matrix es = random_matrix(3, 4, 1), et = random_matrix(3, 4, 2);
  const std::vector<int> indices{0, 1, 2};

  SECTION("construction") {
    CHECK_THROWS_WITH(bl::Crd<double>(4, std::vector<int>{}), Catch::Contains("crd: the dataset must hold at least one sample"));
    CHECK_THROWS_WITH(bl::Cmc<double>(0, 10), Catch::Contains("cmc: the embedding width must be positive"));
    CHECK_THROWS_WITH(bl::Crd<double>(4, labels, small_options(0)), Catch::Contains("crd: negatives (K) must be positive, got 0"));
    bl::CrdOptions bad_t = small_options(3);
    bad_t.temperature = 0;
    CHECK_THROWS_WITH(bl::Crd<double>(4, labels, bad_t), Catch::Contains("crd: temperature must be positive"));
    bl::CmcOptions bad_m;
    bad_m.momentum = 1.0;
    CHECK_THROWS_WITH(bl::Cmc<double>(4, 10, bad_m), Catch::Contains("cmc: momentum must lie in [0, 1), got 1"));
  }
  SECTION("shapes") {
    CHECK_THROWS_WITH(crd.accumulate(es, random_matrix(3, 5, 3), {}, indices, 1.0, {}, {}),
                      Catch::Contains("crd: teacher has shape [3, 5], expected [3, 4]"));
    CHECK_THROWS_WITH(cmc.accumulate(random_matrix(3, 5, 3), random_matrix(3, 5, 4), {}, indices, 1.0, {}, {}),
                      Catch::Contains("cmc: embeddings have shape [3, 5], expected width 4"));
    CHECK_THROWS_WITH(crd.accumulate(Matrix(0, 4), Matrix(0, 4), {}, std::vector<int>{}, 1.0, {}, {}),
                      Catch::Contains("crd: empty batch"));
    Matrix wrong(3, 2);
    CHECK_THROWS_WITH(crd.accumulate(es, et, {}, indices, 1.0, ccl::mutable_view(wrong), {}),
                      Catch::Contains("crd: grad_student has shape [3, 2]"));
  }
  SECTION("indices and labels") {
    CHECK_THROWS_WITH(crd.accumulate(es, et, {}, std::vector<int>{0, 1}, 1.0, {}, {}),
                      Catch::Contains("crd: 2 sample indices for a batch of 3"));
    CHECK_THROWS_WITH(cmc.accumulate(es, et, {}, std::vector<int>{0, 12, 1}, 1.0, {}, {}),
                      Catch::Contains("cmc: index[1] = 12 is outside the dataset [0, 12)"));
    CHECK_THROWS_WITH(crd.accumulate(es, et, std::vector<int>{0, 0, 0}, indices, 1.0, {}, {}),
                      Catch::Contains("crd: label[1] = 0 but the dataset's label of index 1 is 1"));
    CHECK_THROWS_WITH(crd.accumulate(es, et, std::vector<int>{0}, indices, 1.0, {}, {}),
                      Catch::Contains("crd: 1 labels for a batch of 3"));
    bl::ContrastIndices bad_idx = bl::ContrastIndices::Zero(3, 4);
    bad_idx(1, 2) = 99;
    CHECK_THROWS_WITH(crd.score(es, et, bad_idx, 1.0, {}, {}), Catch::Contains("a contrast index is outside the dataset"));
    CHECK_THROWS_WITH(crd.score(es, et, bl::ContrastIndices::Zero(2, 4), 1.0, {}, {}),
                      Catch::Contains("crd: contrast indices have shape [2, 4], expected [3, K + 1]"));
    bl::Crd<double> one_class(4, std::vector<int>{5, 5, 5}, small_options(2));
    CHECK_THROWS_WITH(one_class.sample(std::vector<int>{1}),
                      Catch::Contains("crd: every training sample has label 5"));
  }
  SECTION("NaN and Inf") {
    Matrix bad = es;
    bad(0, 3) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(crd.accumulate(bad, et, {}, indices, 1.0, {}, {}), Catch::Contains("crd: student[0, 3] = nan"));
    bad(0, 3) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(cmc.accumulate(es, bad, {}, indices, 1.0, {}, {}), Catch::Contains("cmc: teacher[0, 3] = inf"));
  }
}

TEST_CASE("memory-bank baselines run in float", "[loss][baselines][crd][cmc][float]") {
  const auto labels = make_labels(50, 5);
  bl::Crd<float> crd(8, labels, small_options(16), 3);
  bl::Cmc<float> cmc(8, 50, {}, 3);  // default K = 16384 > N: repeated indices are fine
  RowMatrix<float> es = random_matrix(6, 8, 71).cast<float>(), et = random_matrix(6, 8, 72).cast<float>();
  RowMatrix<float> gs = RowMatrix<float>::Zero(6, 8);
  const std::vector<std::int64_t> indices{0, 9, 18, 27, 36, 45};
  for (int step = 0; step < 3; ++step) {
    const float a = crd.accumulate(es, et, {}, indices, 1.0f, ccl::mutable_view(gs), {});
    const float b = cmc.accumulate(es, et, {}, indices, 1.0f, ccl::mutable_view(gs), {});
    CHECK(std::isfinite(a));
    CHECK(std::isfinite(b));
  }
  CHECK(gs.allFinite());
}

TEST_CASE("CRD without the dataset's labels: score, update and state work; sampling says what is "
          "missing",
          "[loss][baselines][crd][api]") {
  const Index n = 12, dim = 3;
  const auto labels = make_labels(n, 3);
  bl::Crd<double> labelled(dim, labels, small_options(4), 5);
  bl::Crd<double> bare(dim, n, small_options(4), 5);  // no labels: same banks from the same seed
  CHECK_FALSE(bare.has_dataset_labels());
  CHECK(labelled.has_dataset_labels());
  CHECK(bare.dataset_size() == n);
  CHECK(bare.memory_student() == labelled.memory_student());
  CHECK(bare.memory_teacher() == labelled.memory_teacher());

  // Caller-supplied contrast indices (the public ContrastIndices type) score identically.
  const Matrix es = random_matrix(2, dim, 7), et = random_matrix(2, dim, 8);
  bl::ContrastIndices contrast(2, 5);
  contrast << 0, 3, 4, 5, 7, 1, 2, 6, 8, 11;
  CHECK(bare.score(es, et, contrast, 1.0, {}, {}) == labelled.score(es, et, contrast, 1.0, {}, {}));
  const std::vector<int> indices{0, 1};
  bare.update_memory(es, et, indices);
  labelled.update_memory(es, et, indices);
  CHECK(bare.memory_student() == labelled.memory_student());
  const bl::MemoryBankState<double> state = bare.state();
  CHECK(state.memory_teacher == labelled.memory_teacher());

  CHECK_THROWS_WITH(bare.sample(indices),
                    Catch::Contains("built without the dataset's labels") &&
                        Catch::Contains("set_dataset_labels"));
  CHECK_THROWS_WITH(bare.accumulate(es, et, {}, indices, 1.0, {}, {}),
                    Catch::Contains("built without the dataset's labels"));
  CHECK_THROWS_WITH(bare.set_dataset_labels(std::vector<int>{0, 1}),
                    Catch::Contains("2 dataset labels given for a memory bank of 12 samples"));
  bare.set_dataset_labels(labels);
  CHECK(bare.has_dataset_labels());
  // With the labels, the same generator state draws the same negatives as the labelled loss.
  CHECK(bare.sample(indices) == labelled.sample(indices));
}
