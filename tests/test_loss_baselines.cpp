// Table-1 baselines on (student, teacher) embeddings without state: PKT, RKD, FitNet, COR (CC),
// IFD, and the embedding-head wrapper. Each loss is compared with an independent long-double loop
// implementation written from method.md §8, every gradient (student and teacher) with central
// finite differences in double, and every bad input with its ccl::error message.

#include <ccl/core/rng.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/loss/baselines/embed_heads.hpp>
#include <ccl/loss/baselines/fitnet.hpp>
#include <ccl/loss/baselines/ifd.hpp>
#include <ccl/loss/baselines/kd.hpp>
#include <ccl/loss/baselines/pkt.hpp>
#include <ccl/loss/baselines/rkd.hpp>
#include <ccl/nn/linear.hpp>

#include "support/finite_difference.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::testing::numeric_gradient;
using ccl::testing::relative_error;
namespace bl = ccl::loss::baselines;

namespace {

using Matrix = RowMatrix<double>;
using Real = long double;
using Table = std::vector<std::vector<Real>>;

// h = 1e-6 central differences: O(h²) + O(ε/h) ≈ 1e-10 on smooth losses. RKD's and COR's kinks
// (SmoothL1 at |x| = 1, |x| at 0) are almost surely not within h of a random input.
constexpr double fd_tolerance = 1e-7;

Matrix random_matrix(Index rows, Index cols, std::uint64_t seed, double scale = 1.0) {
  ccl::Rng rng(seed);
  Matrix m(rows, cols);
  rng.fill_normal(m, 0.0, scale);
  return m;
}

/// Checks both gradients of a pair loss against central differences of its value.
template <class Loss>
void check_gradients(Loss& loss, Matrix s, Matrix t, double tolerance = fd_tolerance) {
  const auto result = loss(s, t);
  auto value = [&] { return double(loss(s, t).value); };
  const Matrix num_s = numeric_gradient(s, value);
  const Matrix num_t = numeric_gradient(t, value);
  CHECK(relative_error(result.grad_f, num_s) < tolerance);
  CHECK(relative_error(result.grad_g, num_t) < tolerance);
}

Real dot(const Matrix& x, Index i, const Matrix& y, Index j) {
  Real sum = 0;
  for (Index k = 0; k < x.cols(); ++k) sum += Real(x(i, k)) * Real(y(j, k));
  return sum;
}
Real norm(const Matrix& x, Index i) { return std::sqrt(dot(x, i, x, i)); }
Real distance(const Matrix& x, Index i, Index j) {
  Real sum = 0;
  for (Index k = 0; k < x.cols(); ++k) sum += (Real(x(i, k)) - Real(x(j, k))) * (Real(x(i, k)) - Real(x(j, k)));
  return std::sqrt(sum);
}

Table row_normalise(Table k) {
  for (auto& row : k) {
    Real sum = 0;
    for (Real v : row) sum += v;
    for (Real& v : row) v /= sum;
  }
  return k;
}

/// P of the cosine kernel with the reference's eps added to the norm.
Table cosine_probabilities(const Matrix& x, Real eps) {
  const auto b = std::size_t(x.rows());
  Table k(b, std::vector<Real>(b));
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.rows(); ++j)
      k[std::size_t(i)][std::size_t(j)] =
          (dot(x, i, x, j) / ((norm(x, i) + eps) * (norm(x, j) + eps)) + 1) / 2;
  return row_normalise(k);
}

/// P of the Student-t kernel 1 / (1 + sqrt(‖x_i - x_j‖² + eps)).
Table student_t_probabilities(const Matrix& x, Real eps) {
  const auto b = std::size_t(x.rows());
  Table k(b, std::vector<Real>(b));
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.rows(); ++j) {
      const Real d = distance(x, i, j);
      k[std::size_t(i)][std::size_t(j)] = 1 / (1 + std::sqrt(d * d + eps));
    }
  return row_normalise(k);
}

Real reference_pkt(const Matrix& s, const Matrix& t) {
  const Real eps = 1e-7L;
  const Table ps = cosine_probabilities(s, eps), pt = cosine_probabilities(t, eps);
  Real total = 0;
  for (std::size_t i = 0; i < ps.size(); ++i)
    for (std::size_t j = 0; j < ps.size(); ++j)
      total += pt[i][j] * std::log((pt[i][j] + eps) / (ps[i][j] + eps));
  return total / Real(ps.size() * ps.size());
}

Real huber(Real x) { return std::abs(x) < 1 ? x * x / 2 : std::abs(x) - Real(0.5); }

Real reference_rkd(const Matrix& s, const Matrix& t, Real wd, Real wa, Real* ld = nullptr,
                   Real* la = nullptr) {
  const Index b = s.rows();
  auto normalised_distances = [b](const Matrix& x) {
    Table d(std::size_t(b), std::vector<Real>(std::size_t(b), 0));
    Real sum = 0;
    Index count = 0;
    for (Index i = 0; i < b; ++i)
      for (Index j = 0; j < b; ++j)
        if (i != j) {
          d[std::size_t(i)][std::size_t(j)] = std::max(distance(x, i, j), Real(1e-6));
          sum += d[std::size_t(i)][std::size_t(j)];
          ++count;
        }
    for (auto& row : d)
      for (Real& v : row) v = count > 0 ? v / (sum / Real(count)) : v;
    return d;
  };
  const Table ds = normalised_distances(s), dt = normalised_distances(t);
  Real loss_d = 0;
  for (Index i = 0; i < b; ++i)
    for (Index j = 0; j < b; ++j) loss_d += huber(ds[std::size_t(i)][std::size_t(j)] - dt[std::size_t(i)][std::size_t(j)]);
  loss_d /= Real(b * b);
  auto angle = [](const Matrix& x, Index a, Index p, Index q) {
    const Real np = std::max(distance(x, a, p), Real(1e-12));
    const Real nq = std::max(distance(x, a, q), Real(1e-12));
    Real sum = 0;
    for (Index k = 0; k < x.cols(); ++k)
      sum += (Real(x(p, k)) - Real(x(a, k))) / np * ((Real(x(q, k)) - Real(x(a, k))) / nq);
    return sum;
  };
  Real loss_a = 0;
  for (Index a = 0; a < b; ++a)
    for (Index p = 0; p < b; ++p)
      for (Index q = 0; q < b; ++q) loss_a += huber(angle(s, a, p, q) - angle(t, a, p, q));
  loss_a /= Real(b * b * b);
  if (ld != nullptr) *ld = loss_d;
  if (la != nullptr) *la = loss_a;
  return wd * loss_d + wa * loss_a;
}

Real reference_fitnet(const Matrix& s, const Matrix& t) {
  Real total = 0;
  for (Index i = 0; i < s.rows(); ++i)
    for (Index k = 0; k < s.cols(); ++k) total += (Real(s(i, k)) - Real(t(i, k))) * (Real(s(i, k)) - Real(t(i, k)));
  return total / Real(s.size());
}

Real reference_cor(const Matrix& s, const Matrix& t) {
  if (s.rows() < 2) return 0;
  Real total = 0;
  for (Index i = 0; i + 1 < s.rows(); ++i)
    for (Index k = 0; k < s.cols(); ++k)
      total += std::abs(Real(s(i, k)) - Real(t(i, k))) * std::abs(Real(s(i + 1, k)) - Real(t(i + 1, k)));
  return total / Real(s.rows() - 1);
}

Real jeffreys(const Table& pt, const Table& ps) {
  Real total = 0;
  for (std::size_t i = 0; i < ps.size(); ++i)
    for (std::size_t j = 0; j < ps.size(); ++j)
      total += (pt[i][j] - ps[i][j]) * (std::log(pt[i][j]) - std::log(ps[i][j]));
  return total / Real(ps.size() * ps.size());
}

Real reference_ifd(const Matrix& s, const Matrix& t, bool cosine, bool student_t) {
  Real total = 0;
  if (cosine) total += jeffreys(cosine_probabilities(t, 1e-6L), cosine_probabilities(s, 1e-6L));
  if (student_t) total += jeffreys(student_t_probabilities(t, 1e-6L), student_t_probabilities(s, 1e-6L));
  return total;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// PKT

TEST_CASE("PKT agrees with an independent loop reference", "[loss][baselines][pkt]") {
  bl::Pkt<double> pkt;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    // Widths differ across modalities: PKT only compares each side's own similarities.
    const Matrix s = random_matrix(Index(2 + 2 * seed), 6, seed);
    const Matrix t = random_matrix(Index(2 + 2 * seed), 9, seed + 100);
    CHECK(pkt(s, t).value == Approx(double(reference_pkt(s, t))).epsilon(1e-11));
  }
  // Identical similarity structure (a rotation and rescaling of the teacher) gives ~0.
  const Matrix t = random_matrix(6, 4, 5);
  CHECK(std::abs(pkt((3.0 * t).eval(), t).value) < 1e-12);
  CHECK(bl::Pkt<double>::default_beta == 30000.0);
  // B = 1: P = [[1]] on both sides.
  CHECK(pkt(random_matrix(1, 4, 1), random_matrix(1, 3, 2)).value == 0.0);
}

TEST_CASE("PKT gradients match central finite differences", "[loss][baselines][pkt][grad]") {
  bl::Pkt<double> pkt;
  check_gradients(pkt, random_matrix(5, 4, 11), random_matrix(5, 7, 12));
  // A zero row (norm 0) stays finite: u = 0 and only the I/eps part of du/dx remains.
  Matrix s = random_matrix(4, 3, 13);
  s.row(2).setZero();
  const auto r = pkt(s, random_matrix(4, 3, 14));
  CHECK(std::isfinite(r.value));
  CHECK(r.grad_f.allFinite());
}

// ---------------------------------------------------------------------------------------------
// RKD

TEST_CASE("RKD agrees with an independent O(B³) loop reference", "[loss][baselines][rkd]") {
  bl::Rkd<double> rkd;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const Matrix s = random_matrix(Index(2 + seed), 5, seed, 2.0);
    const Matrix t = random_matrix(Index(2 + seed), 3, seed + 50);
    Real ld = 0, la = 0;
    const Real expected = reference_rkd(s, t, 25, 50, &ld, &la);
    CHECK(rkd(s, t).value == Approx(double(expected)).epsilon(1e-11));
    CHECK(rkd.terms().distance == Approx(double(ld)).epsilon(1e-11));
    CHECK(rkd.terms().angle == Approx(double(la)).epsilon(1e-11));
  }
  bl::RkdOptions options;
  options.distance_weight = 1.5;
  options.angle_weight = 0;
  const Matrix s = random_matrix(4, 3, 9), t = random_matrix(4, 3, 10);
  CHECK(bl::Rkd<double>(options)(s, t).value == Approx(double(reference_rkd(s, t, 1.5, 0))).epsilon(1e-11));
  // Distances are scale-normalised and angles scale-free: a rescaled teacher gives 0.
  CHECK(std::abs(rkd((7.0 * t).eval(), t).value) < 1e-12);
}

TEST_CASE("RKD gradients match central finite differences", "[loss][baselines][rkd][grad]") {
  bl::Rkd<double> rkd;
  check_gradients(rkd, random_matrix(5, 4, 21, 2.0), random_matrix(5, 3, 22));
  // Large discrepancies put SmoothL1 in its linear branch.
  check_gradients(rkd, random_matrix(4, 3, 23, 0.1), (random_matrix(4, 3, 24) * 30).eval());
}

TEST_CASE("RKD with B = 1 and duplicate rows stays finite", "[loss][baselines][rkd]") {
  bl::Rkd<double> rkd;
  const auto one = rkd(random_matrix(1, 3, 1), random_matrix(1, 3, 2));
  CHECK(one.value == 0.0);
  CHECK(one.grad_f.cwiseAbs().maxCoeff() == 0.0);
  Matrix s = random_matrix(4, 3, 3);
  s.row(3) = s.row(1);
  const auto dup = rkd(s, random_matrix(4, 3, 4));
  CHECK(std::isfinite(dup.value));
  CHECK(dup.value == Approx(double(reference_rkd(s, random_matrix(4, 3, 4), 25, 50))).epsilon(1e-9));
}

// ---------------------------------------------------------------------------------------------
// FitNet

TEST_CASE("FitNet is the mean squared error over all elements", "[loss][baselines][fitnet]") {
  bl::FitNet<double> fitnet;
  const Matrix s{{1, 2}, {3, 4}}, t{{0, 2}, {3, 6}};
  CHECK(fitnet(s, t).value == Approx(5.0 / 4.0).epsilon(1e-15));  // (1 + 0 + 0 + 4) / 4
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const Matrix a = random_matrix(Index(seed + 2), 5, seed), b = random_matrix(Index(seed + 2), 5, seed + 7);
    CHECK(fitnet(a, b).value == Approx(double(reference_fitnet(a, b))).epsilon(1e-13));
  }
  check_gradients(fitnet, random_matrix(3, 4, 31), random_matrix(3, 4, 32));
  CHECK(bl::FitNet<double>::default_beta == 100.0);
}

// ---------------------------------------------------------------------------------------------
// COR (correlation congruence)

TEST_CASE("COR agrees with the reference and depends on batch order", "[loss][baselines][cor]") {
  bl::CorrelationCongruence<double> cor;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const Matrix s = random_matrix(Index(seed + 2), 6, seed), t = random_matrix(Index(seed + 2), 6, seed + 3);
    CHECK(cor(s, t).value == Approx(double(reference_cor(s, t))).epsilon(1e-13));
  }
  // Hand value: Δ = [[1, 0], [2, 1], [1, 1]] → (1·2 + 0·1 + 2·1 + 1·1) / 2 = 2.5.
  const Matrix s{{1, 0}, {2, 1}, {1, -1}}, t{{0, 0}, {0, 0}, {0, 0}};
  CHECK(cor(s, t).value == Approx(2.5).epsilon(1e-15));
  const Matrix swapped{{2, 1}, {1, 0}, {1, -1}};
  CHECK(cor(swapped, t).value != Approx(2.5));
  check_gradients(cor, random_matrix(5, 4, 41), random_matrix(5, 4, 42));
  const auto one = cor(random_matrix(1, 3, 1), random_matrix(1, 3, 2));
  CHECK(one.value == 0.0);
  CHECK(one.grad_f.cwiseAbs().maxCoeff() == 0.0);
  CHECK(bl::CorrelationCongruence<double>::default_beta == 0.02);
}

TEST_CASE("WithEmbedHeads runs COR behind two trainable Linear heads", "[loss][baselines][cor]") {
  using Linear = ccl::nn::Linear<double>;
  ccl::Rng rng(5);
  bl::WithEmbedHeads<bl::CorrelationCongruence<double>, Linear, double> cor(
      {}, Linear(6, 4, rng), Linear(5, 4, rng));
  Matrix fs = random_matrix(4, 6, 51), ft = random_matrix(4, 5, 52);
  // Value: the loss of the heads' outputs, computed by hand.
  const Matrix es = (fs * cor.student_head().weight().value.transpose()).rowwise() +
                    cor.student_head().bias().value.row(0);
  const Matrix et = (ft * cor.teacher_head().weight().value.transpose()).rowwise() +
                    cor.teacher_head().bias().value.row(0);
  const auto r = cor(fs, ft);
  CHECK(r.value == Approx(double(reference_cor(es, et))).epsilon(1e-13));
  // Input gradients and the heads' parameter gradients against finite differences.
  auto value = [&] { return double(cor(fs, ft).value); };
  CHECK(relative_error(r.grad_f, numeric_gradient(fs, value)) < fd_tolerance);
  CHECK(relative_error(r.grad_g, numeric_gradient(ft, value)) < fd_tolerance);
  cor.for_each_parameter([](ccl::Parameter<double>& p) { p.zero_grad(); });
  cor.accumulate(fs, ft, {}, 2.0, {}, {});
  std::vector<Matrix> analytic;
  cor.for_each_parameter([&](ccl::Parameter<double>& p) { analytic.push_back(p.grad); });
  REQUIRE(analytic.size() == 4);
  std::size_t k = 0;
  cor.for_each_parameter([&](ccl::Parameter<double>& p) {
    const Matrix numeric = numeric_gradient(p.value, value);
    CHECK(relative_error(analytic[k++], (2.0 * numeric).eval()) < fd_tolerance);
  });
}

// ---------------------------------------------------------------------------------------------
// IFD

TEST_CASE("IFD kernels agree with an independent loop reference", "[loss][baselines][ifd]") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const Matrix s = random_matrix(Index(seed + 2), 5, seed), t = random_matrix(Index(seed + 2), 8, seed + 30);
    bl::IfdOptions options;
    CHECK(bl::Ifd<double>(options)(s, t).value ==
          Approx(double(reference_ifd(s, t, true, true))).epsilon(1e-11));
    options.kernels = bl::IfdKernels::cosine;
    CHECK(bl::Ifd<double>(options)(s, t).value ==
          Approx(double(reference_ifd(s, t, true, false))).epsilon(1e-11));
    options.kernels = bl::IfdKernels::student_t;
    CHECK(bl::Ifd<double>(options)(s, t).value ==
          Approx(double(reference_ifd(s, t, false, true))).epsilon(1e-11));
  }
  const Matrix t = random_matrix(5, 4, 3);
  CHECK(std::abs(bl::Ifd<double>()(t, t).value) < 1e-14);
}

TEST_CASE("IFD gradients match central finite differences", "[loss][baselines][ifd][grad]") {
  for (auto kernels : {bl::IfdKernels::combined, bl::IfdKernels::cosine, bl::IfdKernels::student_t}) {
    bl::IfdOptions options;
    options.kernels = kernels;
    bl::Ifd<double> ifd(options);
    check_gradients(ifd, random_matrix(5, 4, 61), random_matrix(5, 6, 62));
  }
}

TEST_CASE("IFD's information-flow layer weights follow the reference schedule",
          "[loss][baselines][ifd]") {
  CHECK(bl::ifd_layer_weight(0, /*last_layer=*/true) == 1.0);
  CHECK(bl::ifd_layer_weight(0, false) == 100.0);
  CHECK(bl::ifd_layer_weight(3, false) == Approx(100.0 * 0.7 * 0.7 * 0.7).epsilon(1e-15));
  CHECK_THROWS_WITH(bl::ifd_layer_weight(-1, false), Catch::Contains("epoch must be >= 0"));
}

// ---------------------------------------------------------------------------------------------
// Accumulate and bad input, shared by all stateless baselines

TEMPLATE_TEST_CASE("baselines accumulate weight * gradient and skip empty views",
                   "[loss][baselines]", bl::Pkt<double>, bl::Rkd<double>, bl::FitNet<double>,
                   bl::CorrelationCongruence<double>, bl::Ifd<double>) {
  TestType loss;
  const Matrix s = random_matrix(4, 3, 71), t = random_matrix(4, 3, 72);
  const auto once = loss(s, t);
  Matrix gs = Matrix::Ones(4, 3), gt = Matrix::Constant(4, 3, -2.0);
  const double value = loss.accumulate(s, t, {}, 0.5, ccl::mutable_view(gs), ccl::mutable_view(gt));
  CHECK(value == Approx(once.value).epsilon(1e-15));
  CHECK(relative_error(gs, (Matrix::Ones(4, 3) + 0.5 * once.grad_f).eval()) < 1e-14);
  CHECK(relative_error(gt, (Matrix::Constant(4, 3, -2.0) + 0.5 * once.grad_g).eval()) < 1e-14);
  Matrix only_s = Matrix::Zero(4, 3);
  loss.accumulate(s, t, {}, 1.0, ccl::mutable_view(only_s), {});
  CHECK(relative_error(only_s, once.grad_f) < 1e-14);
  static_assert(ccl::loss::is_pair_loss_v<TestType, double>, "baselines are pair losses");
}

TEST_CASE("baselines reject bad input with a clear ccl::error", "[loss][baselines][errors]") {
  const Matrix s = random_matrix(4, 3, 1), t = random_matrix(4, 3, 2);
  bl::Pkt<double> pkt;
  bl::Rkd<double> rkd;
  bl::FitNet<double> fitnet;
  bl::CorrelationCongruence<double> cor;
  bl::Ifd<double> ifd;

  SECTION("batch size mismatch") {
    const Matrix short_t = random_matrix(3, 3, 3);
    CHECK_THROWS_WITH(pkt(s, short_t), Catch::Contains("pkt: teacher has 3 rows"));
    CHECK_THROWS_WITH(rkd(s, short_t), Catch::Contains("rkd: teacher has 3 rows"));
    CHECK_THROWS_WITH(ifd(s, short_t), Catch::Contains("ifd: teacher has 3 rows"));
  }
  SECTION("width mismatch where the widths must agree") {
    const Matrix wide = random_matrix(4, 5, 3);
    CHECK_THROWS_WITH(fitnet(s, wide), Catch::Contains("fitnet: teacher has shape [4, 5], expected [4, 3]"));
    CHECK_THROWS_WITH(cor(s, wide), Catch::Contains("correlation_congruence: teacher has shape [4, 5]"));
    // Relational losses accept different widths.
    CHECK_NOTHROW(pkt(s, wide));
    CHECK_NOTHROW(rkd(s, wide));
  }
  SECTION("empty batch and empty features") {
    CHECK_THROWS_WITH(pkt(Matrix(0, 3), Matrix(0, 3)), Catch::Contains("pkt: empty batch"));
    CHECK_THROWS_WITH(rkd(Matrix(0, 3), Matrix(0, 3)), Catch::Contains("rkd: empty batch"));
    CHECK_THROWS_WITH(fitnet(Matrix(0, 3), Matrix(0, 3)), Catch::Contains("fitnet: empty batch"));
    CHECK_THROWS_WITH(cor(Matrix(0, 3), Matrix(0, 3)), Catch::Contains("empty batch"));
    CHECK_THROWS_WITH(ifd(Matrix(0, 3), Matrix(0, 3)), Catch::Contains("ifd: empty batch"));
    CHECK_THROWS_WITH(pkt(Matrix(4, 0), t), Catch::Contains("pkt: student has no features"));
    CHECK_THROWS_WITH(rkd(s, Matrix(4, 0)), Catch::Contains("rkd: teacher has no features"));
  }
  SECTION("NaN and Inf") {
    Matrix bad = s;
    bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(pkt(bad, t), Catch::Contains("pkt: student[2, 1] = nan is not finite"));
    CHECK_THROWS_WITH(rkd(t, bad), Catch::Contains("rkd: teacher[2, 1] = nan"));
    CHECK_THROWS_WITH(fitnet(bad, t), Catch::Contains("fitnet: student[2, 1] = nan"));
    bad(2, 1) = -std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(cor(bad, t), Catch::Contains("correlation_congruence: student[2, 1] = -inf"));
    CHECK_THROWS_WITH(ifd(t, bad), Catch::Contains("ifd: teacher[2, 1] = -inf"));
  }
  SECTION("gradient views of the wrong shape") {
    Matrix wrong(4, 2);
    CHECK_THROWS_WITH(pkt.accumulate(s, t, {}, 1.0, ccl::mutable_view(wrong), {}),
                      Catch::Contains("pkt: grad_student has shape [4, 2], expected [4, 3]"));
    CHECK_THROWS_WITH(rkd.accumulate(s, t, {}, 1.0, {}, ccl::mutable_view(wrong)),
                      Catch::Contains("rkd: grad_teacher has shape [4, 2]"));
  }
  SECTION("bad options") {
    bl::PktOptions pkt_options;
    pkt_options.eps = 0;
    CHECK_THROWS_WITH(bl::Pkt<double>(pkt_options)(s, t), Catch::Contains("pkt: eps must be positive"));
    bl::RkdOptions rkd_options;
    rkd_options.angle_weight = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(bl::Rkd<double>(rkd_options)(s, t), Catch::Contains("rkd: distance_weight and angle_weight must be finite"));
    bl::IfdOptions ifd_options;
    ifd_options.eps = -1;
    CHECK_THROWS_WITH(bl::Ifd<double>(ifd_options)(s, t), Catch::Contains("ifd: eps must be positive"));
  }
}

TEST_CASE("float instantiations agree with double", "[loss][baselines][float]") {
  const Matrix s = random_matrix(5, 4, 81), t = random_matrix(5, 4, 82);
  const RowMatrix<float> sf = s.cast<float>(), tf = t.cast<float>();
  CHECK(bl::Pkt<float>()(sf, tf).value == Approx(bl::Pkt<double>()(s, t).value).epsilon(1e-4));
  CHECK(bl::Rkd<float>()(sf, tf).value == Approx(bl::Rkd<double>()(s, t).value).epsilon(1e-4));
  CHECK(bl::FitNet<float>()(sf, tf).value == Approx(bl::FitNet<double>()(s, t).value).epsilon(1e-5));
  CHECK(bl::CorrelationCongruence<float>()(sf, tf).value ==
        Approx(bl::CorrelationCongruence<double>()(s, t).value).epsilon(1e-5));
  CHECK(bl::Ifd<float>()(sf, tf).value == Approx(bl::Ifd<double>()(s, t).value).epsilon(1e-4));
  const auto g = bl::Rkd<float>()(sf, tf);
  CHECK(relative_error(g.grad_f.cast<double>().eval(), bl::Rkd<double>()(s, t).grad_f) < 1e-4);
}

TEST_CASE("KD is available under its baseline name", "[loss][baselines][kd]") {
  static_assert(std::is_same_v<bl::Kd<double>, ccl::loss::HintonKd<double>>,
                "baselines::Kd is the logit loss HintonKd");
  const Matrix zs{{1, 0, -1}}, zt{{0, 2, 0}};
  CHECK(bl::Kd<double>()(zs, zt).value == Approx(ccl::loss::HintonKd<double>(4.0)(zs, zt).value));
  CHECK(bl::kd_default_alpha + bl::kd_default_gamma == Approx(1.0));
}
