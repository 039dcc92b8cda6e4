// Losses on class logits: SymmetricKl (the official "JSD"), CrossEntropy and HintonKd.
// Reference vector TV2 (method.md §10), hand values, an independent long-double loop reference
// written from the formulas of method.md §4.1/§4.4/§8.1, central finite differences in double for
// every gradient, invariances, extreme logits and every bad input.

#include <ccl/core/rng.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/loss/kd.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include "support/finite_difference.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::loss::CrossEntropy;
using ccl::loss::HintonKd;
using ccl::loss::Numerics;
using ccl::loss::SymmetricKl;
using ccl::testing::numeric_gradient;
using ccl::testing::relative_error;

namespace {

using Matrix = RowMatrix<double>;
using Real = long double;

// Finite-difference tolerance: h = 1e-6 central differences have O(h²) + O(ε/h) ≈ 1e-10 error on
// these smooth losses; 1e-7 relative to the gradient's scale leaves a wide margin.
constexpr double fd_tolerance = 1e-7;

Matrix random_matrix(Index rows, Index cols, std::uint64_t seed, double scale = 2.0) {
  ccl::Rng rng(seed);
  Matrix m(rows, cols);
  rng.fill_normal(m, 0.0, scale);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Independent references: plain loops in long double, no code shared with the library.
std::vector<Real> softmax_row(const Matrix& z, Index i, Real inv_t = 1) {
  std::vector<Real> p(static_cast<std::size_t>(z.cols()));
  Real max = -std::numeric_limits<Real>::infinity();
  for (Index c = 0; c < z.cols(); ++c) max = std::max(max, Real(z(i, c)) * inv_t);
  Real sum = 0;
  for (Index c = 0; c < z.cols(); ++c) {
    p[std::size_t(c)] = std::exp(Real(z(i, c)) * inv_t - max);
    sum += p[std::size_t(c)];
  }
  for (auto& v : p) v /= sum;
  return p;
}

/// method.md §4.4 exactly as written, with the ε (official) or without it (plain Jeffreys).
Real reference_jsd(const Matrix& z1, const Matrix& z2, Real w, bool official) {
  const Real eps = official ? Real(1e-10) : Real(0);
  Real total = 0;
  for (Index i = 0; i < z1.rows(); ++i) {
    const auto p = softmax_row(z1, i);
    const auto q = softmax_row(z2, i);
    for (std::size_t c = 0; c < p.size(); ++c) {
      total += p[c] * std::log(p[c] / q[c] + eps) + q[c] * std::log(q[c] / p[c] + eps);
    }
  }
  return w * total / Real(z1.rows());
}

Real reference_ce(const Matrix& z, const std::vector<int>& y) {
  Real total = 0;
  for (Index i = 0; i < z.rows(); ++i) total -= std::log(softmax_row(z, i)[std::size_t(y[std::size_t(i)])]);
  return total / Real(z.rows());
}

Real reference_kd(const Matrix& zs, const Matrix& zt, Real t) {
  Real total = 0;
  for (Index i = 0; i < zs.rows(); ++i) {
    const auto ps = softmax_row(zs, i, 1 / t);
    const auto pt = softmax_row(zt, i, 1 / t);
    for (std::size_t c = 0; c < ps.size(); ++c) total += pt[c] * std::log(pt[c] / ps[c]);
  }
  return t * t * total / Real(zs.rows());
}

struct Tv2 {
  Matrix z1{{2, 0.5, -1}, {0, 0, 0}};
  Matrix z2{{1, 1, 0}, {0.5, -0.5, 1.5}};
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// SymmetricKl

TEST_CASE("SymmetricKl reproduces the reference vector TV2", "[loss][logits][jsd][tv2]") {
  const Tv2 tv;
  for (auto numerics : {Numerics::official, Numerics::stable}) {
    ccl::loss::SymmetricKlOptions options;
    options.numerics = numerics;
    CHECK(SymmetricKl<double>(options)(tv.z1, tv.z2).value == Approx(0.2945631632).epsilon(1e-9));
    options.weight = 1.0;
    CHECK(SymmetricKl<double>(options)(tv.z1, tv.z2).value == Approx(0.5891263263).epsilon(1e-9));
  }
  // float reproduces it to single precision.
  const RowMatrix<float> f1 = tv.z1.cast<float>(), f2 = tv.z2.cast<float>();
  CHECK(SymmetricKl<float>()(f1, f2).value == Approx(0.2945631632).epsilon(1e-6));
  // Hand check of method.md §10: per-row KL(p‖q) + KL(q‖p) ≈ 0.60304 and 0.57521.
  const Matrix r1 = tv.z1.topRows(1), r2 = tv.z2.topRows(1);
  const Matrix s1 = tv.z1.bottomRows(1), s2 = tv.z2.bottomRows(1);
  CHECK(SymmetricKl<double>(1.0)(r1, r2).value == Approx(0.60304).margin(1e-5));
  CHECK(SymmetricKl<double>(1.0)(s1, s2).value == Approx(0.57521).margin(1e-5));
}

TEST_CASE("SymmetricKl agrees with an independent long-double loop reference",
          "[loss][logits][jsd]") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const Index b = Index(1 + seed), c = Index(2 + 2 * seed);
    const Matrix z1 = random_matrix(b, c, seed), z2 = random_matrix(b, c, seed + 100);
    for (double w : {0.5, 1.0, 0.25}) {
      ccl::loss::SymmetricKlOptions options;
      options.weight = w;
      options.numerics = Numerics::official;
      CHECK(SymmetricKl<double>(options)(z1, z2).value ==
            Approx(double(reference_jsd(z1, z2, w, true))).epsilon(1e-12));
      options.numerics = Numerics::stable;
      CHECK(SymmetricKl<double>(options)(z1, z2).value ==
            Approx(double(reference_jsd(z1, z2, w, false))).epsilon(1e-12));
    }
  }
}

TEST_CASE("SymmetricKl gradients match central finite differences", "[loss][logits][jsd][grad]") {
  for (auto numerics : {Numerics::official, Numerics::stable}) {
    Matrix z1 = random_matrix(4, 5, 7), z2 = random_matrix(4, 5, 8);
    ccl::loss::SymmetricKlOptions options;
    options.numerics = numerics;
    SymmetricKl<double> jsd(options);
    const auto result = jsd(z1, z2);
    auto value = [&] { return double(jsd(z1, z2).value); };
    CHECK(relative_error(result.grad_f, numeric_gradient(z1, value)) < fd_tolerance);
    CHECK(relative_error(result.grad_g, numeric_gradient(z2, value)) < fd_tolerance);
  }
  // Where p/q < ε the official formula flattens; the gradient must follow it, not the Jeffreys one.
  Matrix z1{{30, 0, -30}}, z2{{-30, 0, 30}};
  ccl::loss::SymmetricKlOptions official;
  official.numerics = Numerics::official;
  SymmetricKl<double> jsd(official);
  const auto result = jsd(z1, z2);
  auto value = [&] { return double(jsd(z1, z2).value); };
  CHECK(result.value == Approx(double(reference_jsd(z1, z2, 0.5, true))).epsilon(1e-12));
  CHECK(relative_error(result.grad_f, numeric_gradient(z1, value, 1e-5)) < 1e-6);
  CHECK(relative_error(result.grad_g, numeric_gradient(z2, value, 1e-5)) < 1e-6);
}

TEST_CASE("SymmetricKl is zero on equal inputs, symmetric, and shift invariant",
          "[loss][logits][jsd]") {
  const Matrix z = random_matrix(5, 6, 3), other = random_matrix(5, 6, 4);
  for (auto numerics : {Numerics::official, Numerics::stable}) {
    ccl::loss::SymmetricKlOptions options;
    options.numerics = numerics;
    SymmetricKl<double> jsd(options);
    const auto same = jsd(z, z);
    // official: Σ (p + q) log(1 + ε) = 2 log(1 + ε) per row, times w = 0.5.
    CHECK(std::abs(same.value) < 2e-10);
    CHECK(same.grad_f.cwiseAbs().maxCoeff() < 1e-12);
    CHECK(same.grad_g.cwiseAbs().maxCoeff() < 1e-12);
    const auto ab = jsd(z, other);
    const auto ba = jsd(other, z);
    CHECK(ab.value > 0);
    CHECK(ab.value == Approx(ba.value).epsilon(1e-14));
    CHECK(relative_error(ab.grad_f, ba.grad_g) < 1e-14);
    // softmax ignores a per-row constant, so the loss does, and each gradient row sums to zero.
    const Matrix shifted = (z.colwise() + Eigen::VectorXd::LinSpaced(5, -3, 40)).eval();
    CHECK(jsd(shifted, other).value == Approx(ab.value).epsilon(1e-12));
    CHECK(ab.grad_f.rowwise().sum().cwiseAbs().maxCoeff() < 1e-14);
  }
}

TEST_CASE("SymmetricKl stays finite for extreme logits in float and double",
          "[loss][logits][jsd][numerics]") {
  // p underflows to exactly 0 in float: the official formula evaluated naively gives inf
  // (q·log(q/0)) or NaN (0/0).
  Matrix z1{{200, 0, -200}, {0, 0, 0}}, z2{{-200, 0, 200}, {1e3, -1e3, 0}};
  for (auto numerics : {Numerics::official, Numerics::stable}) {
    ccl::loss::SymmetricKlOptions options;
    options.numerics = numerics;
    const auto d = SymmetricKl<double>(options)(z1, z2);
    const RowMatrix<float> f1 = z1.cast<float>(), f2 = z2.cast<float>();
    const auto f = SymmetricKl<float>(options)(f1, f2);
    CHECK(std::isfinite(d.value));
    CHECK(std::isfinite(f.value));
    CHECK(d.grad_f.allFinite());
    CHECK(d.grad_g.allFinite());
    CHECK(f.grad_f.allFinite());
    CHECK(f.grad_g.allFinite());
    CHECK(f.value == Approx(d.value).epsilon(1e-5));
  }
  // The stable variant is the exact Jeffreys divergence: row 1 ≈ 0.5 · (400 + 400) (p ≈ e1, q ≈ e3).
  const auto stable = SymmetricKl<double>()(z1.topRows(1).eval(), z2.topRows(1).eval());
  CHECK(stable.value == Approx(400.0).epsilon(1e-9));
}

TEST_CASE("SymmetricKl accumulates weight * gradient and skips empty gradient views",
          "[loss][logits][jsd]") {
  const Matrix z1 = random_matrix(3, 4, 11), z2 = random_matrix(3, 4, 12);
  SymmetricKl<double> jsd;
  const auto once = jsd(z1, z2);
  Matrix g1 = Matrix::Constant(3, 4, 1.0), g2 = Matrix::Constant(3, 4, -1.0);
  const double value = jsd.accumulate(z1, z2, {}, 0.3, ccl::mutable_view(g1), ccl::mutable_view(g2));
  CHECK(value == Approx(once.value).epsilon(1e-15));
  CHECK(relative_error(g1, (Matrix::Constant(3, 4, 1.0) + 0.3 * once.grad_f).eval()) < 1e-15);
  CHECK(relative_error(g2, (Matrix::Constant(3, 4, -1.0) + 0.3 * once.grad_g).eval()) < 1e-15);
  Matrix only1 = Matrix::Zero(3, 4);
  jsd.accumulate(z1, z2, {}, 1.0, ccl::mutable_view(only1), {});
  CHECK(relative_error(only1, once.grad_f) < 1e-15);
  static_assert(ccl::loss::is_pair_loss_v<SymmetricKl<float>, float>,
                "SymmetricKl follows the pair-loss convention");
}

// ---------------------------------------------------------------------------------------------
// CrossEntropy

TEST_CASE("CrossEntropy matches a hand value and the independent reference",
          "[loss][logits][ce]") {
  // Hand value: z = [0, ln 3] → p = [1/4, 3/4]; label 1 → -ln(3/4); label 0 → -ln(1/4).
  const Matrix z{{0, std::log(3.0)}, {0, std::log(3.0)}};
  CrossEntropy<double> ce;
  const auto r = ce(z, std::vector<int>{1, 0});
  CHECK(r.value == Approx(0.5 * (-std::log(0.75) - std::log(0.25))).epsilon(1e-15));
  const Matrix expected_grad{{0.125, -0.125}, {-0.375, 0.375}};  // (p - onehot) / B
  CHECK(relative_error(r.grad_logits, expected_grad) < 1e-15);

  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const Index b = Index(2 * seed), c = Index(3 + seed);
    const Matrix logits = random_matrix(b, c, seed, 3.0);
    std::vector<std::int64_t> y64;
    std::vector<int> y;
    ccl::Rng rng(seed + 50);
    for (Index i = 0; i < b; ++i) {
      y.push_back(int(rng.index(c)));
      y64.push_back(y.back());
    }
    CHECK(ce(logits, y).value == Approx(double(reference_ce(logits, y))).epsilon(1e-13));
    CHECK(ce(logits, y64).value == Approx(double(reference_ce(logits, y))).epsilon(1e-13));
  }
}

TEST_CASE("CrossEntropy gradient matches central finite differences", "[loss][logits][ce][grad]") {
  Matrix z = random_matrix(5, 4, 21);
  const std::vector<int> y{0, 3, 3, 1, 2};
  CrossEntropy<double> ce;
  const auto r = ce(z, y);
  auto value = [&] { return double(ce(z, y).value); };
  CHECK(relative_error(r.grad_logits, numeric_gradient(z, value)) < fd_tolerance);
  // accumulate adds weight * gradient.
  Matrix g = Matrix::Ones(5, 4);
  CHECK(ce.accumulate(z, y, 2.0, ccl::mutable_view(g)) == Approx(r.value).epsilon(1e-15));
  CHECK(relative_error(g, (Matrix::Ones(5, 4) + 2.0 * r.grad_logits).eval()) < 1e-15);
}

TEST_CASE("CrossEntropy is finite for extreme logits", "[loss][logits][ce][numerics]") {
  const RowMatrix<float> z{{1e4f, -1e4f, 0}, {88.f, 89.f, -300.f}};
  const auto r = CrossEntropy<float>()(z, std::vector<int>{1, 2});
  CHECK(std::isfinite(r.value));
  CHECK(r.value == Approx(0.5 * (2e4 + (389.0 + std::log1p(std::exp(-1.0))))).epsilon(1e-5));
  CHECK(r.grad_logits.allFinite());
}

// ---------------------------------------------------------------------------------------------
// HintonKd

TEST_CASE("HintonKd agrees with the independent reference", "[loss][logits][kd]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const Matrix zs = random_matrix(Index(seed + 1), 7, seed, 3.0);
    const Matrix zt = random_matrix(Index(seed + 1), 7, seed + 9, 3.0);
    for (double t : {4.0, 1.0, 0.5, 20.0}) {
      CHECK(HintonKd<double>(t)(zs, zt).value ==
            Approx(double(reference_kd(zs, zt, t))).epsilon(1e-12));
    }
  }
  // Default T = 4, and KD(z, z) = 0.
  CHECK(HintonKd<double>().options().temperature == 4.0);
  const Matrix z = random_matrix(3, 5, 77);
  const auto same = HintonKd<double>()(z, z);
  CHECK(std::abs(same.value) < 1e-14);
  CHECK(same.grad_f.cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("HintonKd gradients match central finite differences", "[loss][logits][kd][grad]") {
  for (double t : {4.0, 1.0, 0.3}) {
    Matrix zs = random_matrix(4, 6, 31), zt = random_matrix(4, 6, 32);
    HintonKd<double> kd(t);
    const auto r = kd(zs, zt);
    auto value = [&] { return double(kd(zs, zt).value); };
    CHECK(relative_error(r.grad_f, numeric_gradient(zs, value)) < fd_tolerance);
    CHECK(relative_error(r.grad_g, numeric_gradient(zt, value)) < fd_tolerance);
  }
  // Teacher gradient is optional.
  const Matrix zs = random_matrix(3, 4, 41), zt = random_matrix(3, 4, 42);
  HintonKd<double> kd;
  Matrix gs = Matrix::Zero(3, 4);
  kd.accumulate(zs, zt, {}, 0.9, ccl::mutable_view(gs), {});
  CHECK(relative_error(gs, (0.9 * kd(zs, zt).grad_f).eval()) < 1e-15);
}

TEST_CASE("HintonKd stays finite when teacher probabilities underflow",
          "[loss][logits][kd][numerics]") {
  const RowMatrix<float> zs{{0, 0, 0}}, zt{{1e3f, 0, -1e3f}};
  const auto r = HintonKd<float>(1.0)(zs, zt);
  CHECK(r.value == Approx(std::log(3.0)).epsilon(1e-6));  // KL(e1 ‖ uniform) = log 3
  CHECK(r.grad_f.allFinite());
  CHECK(r.grad_g.allFinite());
}

TEST_CASE("B = 1 and C = 1 are valid and give documented results", "[loss][logits][edge]") {
  const Matrix one_class{{3.5}, {-2.0}};
  const auto ce = CrossEntropy<double>()(one_class, std::vector<int>{0, 0});
  CHECK(ce.value == 0.0);
  CHECK(ce.grad_logits.cwiseAbs().maxCoeff() == 0.0);
  const auto jsd = SymmetricKl<double>()(one_class, (-one_class).eval());
  CHECK(jsd.value == 0.0);
  CHECK(jsd.grad_f.cwiseAbs().maxCoeff() == 0.0);
  const auto kd = HintonKd<double>()(one_class, (-one_class).eval());
  CHECK(kd.value == 0.0);
  CHECK(kd.grad_f.cwiseAbs().maxCoeff() == 0.0);
  const Matrix row{{1.0, -2.0, 0.5}}, other{{0.0, 1.0, 2.0}};
  CHECK(SymmetricKl<double>()(row, other).value ==
        Approx(double(reference_jsd(row, other, 0.5, false))).epsilon(1e-13));
  CHECK(CrossEntropy<double>()(row, std::vector<int>{2}).value ==
        Approx(double(reference_ce(row, {2}))).epsilon(1e-13));
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_CASE("logit losses reject bad input with a clear ccl::error", "[loss][logits][errors]") {
  const Matrix z = random_matrix(3, 4, 1), other = random_matrix(3, 4, 2);
  const std::vector<int> y{0, 1, 3};
  SymmetricKl<double> jsd;
  CrossEntropy<double> ce;
  HintonKd<double> kd;

  SECTION("shape mismatch") {
    const Matrix wide = random_matrix(3, 5, 3), tall = random_matrix(4, 4, 3);
    CHECK_THROWS_WITH(jsd(z, wide), Catch::Contains("symmetric_kl: z2 has shape [3, 5], expected [3, 4]"));
    CHECK_THROWS_WITH(jsd(z, tall), Catch::Contains("z2 has shape [4, 4]"));
    CHECK_THROWS_WITH(kd(z, wide), Catch::Contains("hinton_kd: teacher has shape [3, 5]"));
    Matrix wrong_grad(3, 3);
    CHECK_THROWS_WITH(jsd.accumulate(z, other, {}, 1.0, ccl::mutable_view(wrong_grad), {}),
                      Catch::Contains("grad_z1 has shape [3, 3]"));
    CHECK_THROWS_WITH(ce.accumulate(z, y, 1.0, ccl::mutable_view(wrong_grad)),
                      Catch::Contains("grad_logits has shape [3, 3]"));
    CHECK_THROWS_WITH(kd.accumulate(z, other, {}, 1.0, {}, ccl::mutable_view(wrong_grad)),
                      Catch::Contains("grad_teacher has shape [3, 3]"));
  }
  SECTION("B = 0 and C = 0") {
    CHECK_THROWS_WITH(jsd(Matrix(0, 4), Matrix(0, 4)), Catch::Contains("symmetric_kl: empty batch"));
    CHECK_THROWS_WITH(ce(Matrix(0, 4), std::vector<int>{}), Catch::Contains("cross_entropy: empty batch"));
    CHECK_THROWS_WITH(kd(Matrix(0, 4), Matrix(0, 4)), Catch::Contains("hinton_kd: empty batch"));
    CHECK_THROWS_WITH(jsd(Matrix(3, 0), Matrix(3, 0)), Catch::Contains("z1 has no classes"));
    CHECK_THROWS_WITH(ce(Matrix(3, 0), y), Catch::Contains("logits has no classes"));
    CHECK_THROWS_WITH(kd(Matrix(3, 0), Matrix(3, 0)), Catch::Contains("student has no classes"));
  }
  SECTION("NaN and Inf") {
    Matrix bad = z;
    bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(jsd(bad, other), Catch::Contains("symmetric_kl: z1[1, 2] = nan is not finite"));
    CHECK_THROWS_WITH(jsd(other, bad), Catch::Contains("z2[1, 2] = nan"));
    CHECK_THROWS_WITH(ce(bad, y), Catch::Contains("cross_entropy: logits[1, 2] = nan"));
    bad(1, 2) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(kd(bad, other), Catch::Contains("hinton_kd: student[1, 2] = inf"));
    CHECK_THROWS_WITH(kd(other, bad), Catch::Contains("teacher[1, 2] = inf"));
  }
  SECTION("labels out of range and label count mismatch") {
    CHECK_THROWS_WITH(ce(z, std::vector<int>{0, 4, 1}),
                      Catch::Contains("cross_entropy: label[1] = 4 is outside [0, 4)"));
    CHECK_THROWS_WITH(ce(z, std::vector<std::int64_t>{0, 1, -1}),
                      Catch::Contains("label[2] = -1 is outside [0, 4)"));
    CHECK_THROWS_WITH(ce(z, std::vector<int>{0, 1}),
                      Catch::Contains("cross_entropy: 2 labels for a batch of 3"));
    CHECK_THROWS_AS(ce(z, ccl::LabelView{}), ccl::error);
  }
  SECTION("temperature and weight") {
    for (double t : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
      CHECK_THROWS_WITH(HintonKd<double>(t)(z, other),
                        Catch::Contains("hinton_kd: temperature must be positive and finite"));
    }
    CHECK_THROWS_WITH(SymmetricKl<double>(-0.5)(z, other),
                      Catch::Contains("symmetric_kl: weight must be finite and >= 0, got -0.5"));
  }
  SECTION("the finite scan can be switched off for speed") {
    Matrix bad = z;
    bad(0, 0) = std::numeric_limits<double>::quiet_NaN();
    ccl::loss::CrossEntropyOptions options;
    options.check_finite = false;
    CHECK(std::isnan(CrossEntropy<double>(options)(bad, y).value));
  }
}

TEST_CASE("Logit losses follow the library's result convention: value and grad_<input>",
          "[loss][logits][ce][api]") {
  // The same shape as PairLossResult (value, grad_f, grad_g, zeros, grad_*_view): here the one
  // input is the logits.
  const Matrix z{{0.5, -1.0, 2.0}};
  auto result = ccl::loss::LogitLossResult<double>::zeros(ccl::view(z));
  CHECK(result.value == 0.0);
  CHECK(result.grad_logits.rows() == 1);
  CHECK(result.grad_logits.cols() == 3);
  CHECK(result.grad_logits.isZero(0));
  CrossEntropy<double> ce;
  result.value = ce.accumulate(z, std::vector<int>{2}, 1.0, result.grad_logits_view());
  const auto direct = ce(z, std::vector<int>{2});
  CHECK(result.value == direct.value);
  CHECK(result.grad_logits == direct.grad_logits);
  static_assert(std::is_same_v<decltype(direct), const ccl::loss::LogitLossResult<double, ccl::cpu>>,
                "CrossEntropy<double>::operator() returns LogitLossResult<double, cpu>");
}
