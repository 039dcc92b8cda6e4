// Instance NCE, multi-class NCE, Symmetric and Distill on the CPU: reference vectors (method.md
// §10 TV1), an independent loop implementation in long double, finite-difference gradients in
// double, invariances, numerically extreme inputs, and every bad input.

#include <ccl/loss/distill.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/loss/symmetric.hpp>
#include <ccl/core/rng.hpp>

#include "support/finite_difference.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::loss::ContrastiveOptions;
using ccl::loss::EmptyNegatives;
using ccl::loss::InstanceNce;
using ccl::loss::MultiClassNce;
using ccl::loss::Numerics;
using ccl::testing::numeric_gradient;
using ccl::testing::relative_error;

namespace {

using Matrix = RowMatrix<double>;
using Real = long double;

// ---------------------------------------------------------------------------------------------
// Independent reference: plain loops in long double, written from method.md §4.2/§4.3 and not
// sharing any code with the library. log(1 - p_ij) is taken as log Σ_{k≠j} exp(s_ik) − log Z,
// exact in exact arithmetic, so it is a reference for the stable numerics too.
enum class Kind { multiclass, instance };

Real reference_loss(const Matrix& f, const Matrix& g, const std::vector<int>& y, double tau,
                    Kind kind, bool official_eps) {
  const Index b = f.rows();
  const Index d = f.cols();
  auto unit = [d](const Matrix& x, Index i) {
    Real norm = 0;
    for (Index k = 0; k < d; ++k) norm += Real(x(i, k)) * Real(x(i, k));
    norm = std::sqrt(norm);
    return std::max(norm, Real(1e-12));
  };
  Real total = 0;
  for (Index i = 0; i < b; ++i) {
    std::vector<Real> s(static_cast<std::size_t>(b));
    const Real nf = unit(f, i);
    for (Index j = 0; j < b; ++j) {
      const Real ng = unit(g, j);
      Real dot = 0;
      for (Index k = 0; k < d; ++k) dot += (Real(f(i, k)) / nf) * (Real(g(j, k)) / ng);
      s[std::size_t(j)] = dot / Real(tau);
    }
    Real max = s[0];
    for (Real v : s) max = std::max(max, v);
    Real z = 0;
    for (Real v : s) z += std::exp(v - max);
    auto log_p = [&](Index j) { return s[std::size_t(j)] - max - std::log(z); };
    if (kind == Kind::instance) {
      total += -log_p(i);
      continue;
    }
    Real pos = 0, neg = 0;
    Index n_pos = 0, n_neg = 0;
    for (Index j = 0; j < b; ++j) {
      const Real p = std::exp(log_p(j));
      if (y[std::size_t(j)] == y[std::size_t(i)]) {
        pos += official_eps ? std::log(p + Real(1e-10)) : log_p(j);
        ++n_pos;
      } else {
        Real rest = 0;
        for (Index k = 0; k < b; ++k)
          if (k != j) rest += std::exp(s[std::size_t(k)] - max);
        neg += official_eps ? std::log(1 - p + Real(1e-10)) : std::log(rest) - std::log(z);
        ++n_neg;
      }
    }
    total += -pos / Real(n_pos) - (n_neg > 0 ? neg / Real(n_neg) : Real(0));
  }
  return total / Real(b);
}

Matrix random_matrix(Index rows, Index cols, std::uint64_t seed) {
  ccl::Rng rng(seed);
  Matrix m(rows, cols);
  rng.fill_normal(m);
  return m;
}

std::vector<int> random_labels(Index n, int classes, std::uint64_t seed) {
  ccl::Rng rng(seed);
  std::vector<int> y(static_cast<std::size_t>(n));
  for (auto& v : y) v = int(rng.index(classes));
  return y;
}

ContrastiveOptions options(double tau, Numerics numerics = Numerics::stable, Index tile = 0) {
  ContrastiveOptions o;
  o.temperature = tau;
  o.numerics = numerics;
  o.tile_rows = tile;
  return o;
}

// TV1 of method.md §10.
struct Tv1 {
  Matrix f = (Matrix(3, 2) << 1, 0, 0, 1, 1, 1).finished();
  Matrix g = (Matrix(3, 2) << 1, 0, 0, 1, 1, -1).finished();
  std::vector<int> y{0, 1, 0};
};

}  // namespace

TEST_CASE("multi-class NCE reproduces the reference vectors TV1", "[loss][nce][tv1]") {
  Tv1 tv;
  const auto numerics = GENERATE(Numerics::official, Numerics::stable);
  // The official formula is what TV1 was computed with; the stable one differs by the 1e-10
  // epsilons only, so both must agree with the published digits to 1e-8.
  const double tol = numerics == Numerics::official ? 1e-10 : 1e-8;
  CAPTURE(numerics == Numerics::official);

  CHECK(MultiClassNce<double>(options(1.0, numerics))(tv.f, tv.g, tv.y).value ==
        Approx(1.1671818659).margin(tol));
  CHECK(MultiClassNce<double>(options(0.1, numerics))(tv.f, tv.g, tv.y).value ==
        Approx(2.1461743801).margin(numerics == Numerics::official ? 1e-10 : 1e-7));
  CHECK(MultiClassNce<double>(options(0.5, numerics))(tv.g, tv.f, tv.y).value ==
        Approx(0.8956300990).margin(tol));
  CHECK(MultiClassNce<double>(options(0.5, numerics))(tv.f, tv.g, std::vector<int>{0, 1, 2}).value ==
        Approx(1.2702517121).margin(tol));

  const auto r = MultiClassNce<double>(options(0.5, numerics))(tv.f, tv.g, tv.y);
  CHECK(r.value == Approx(1.0795772635).margin(tol));
  const Matrix expected =
      (Matrix(3, 2) << 0, 0.2007410165, 0.1337718014, 0, -0.4670581625, 0.4670581625).finished();
  CHECK(relative_error(r.grad_f, expected) < 1e-8);
}

TEST_CASE("multi-class NCE agrees with an independent long-double loop implementation",
          "[loss][nce][reference]") {
  const auto numerics = GENERATE(Numerics::official, Numerics::stable);
  const double tau = GENERATE(0.07, 0.5, 2.0);
  const Index b = GENERATE(1, 2, 7, 33);
  const Matrix f = random_matrix(b, 5, 11 + std::uint64_t(b));
  const Matrix g = random_matrix(b, 5, 97 + std::uint64_t(b));
  const auto y = random_labels(b, 3, 5);
  CAPTURE(tau, b, numerics == Numerics::official);

  const double expected =
      double(reference_loss(f, g, y, tau, Kind::multiclass, numerics == Numerics::official));
  CHECK(MultiClassNce<double>(options(tau, numerics))(f, g, y).value ==
        Approx(expected).epsilon(1e-12).margin(1e-12));

  // The float path: same inputs rounded to float, agreement at float precision.
  const RowMatrix<float> ff = f.cast<float>(), gf = g.cast<float>();
  CHECK(MultiClassNce<float>(options(tau, numerics))(ff, gf, y).value ==
        Approx(expected).epsilon(2e-5).margin(2e-5));
}

TEST_CASE("instance NCE agrees with an independent long-double loop implementation",
          "[loss][nce][reference]") {
  const double tau = GENERATE(0.1, 1.0);
  const Index b = GENERATE(1, 4, 19);
  const Matrix f = random_matrix(b, 6, 3), g = random_matrix(b, 6, 4);
  const double expected = double(reference_loss(f, g, {}, tau, Kind::instance, false));
  CHECK(InstanceNce<double>(tau)(f, g).value == Approx(expected).epsilon(1e-12).margin(1e-12));
  if (b == 1) CHECK(InstanceNce<double>(tau)(f, g).value == 0.0);
}

TEST_CASE("contrastive gradients match central finite differences of the reference",
          "[loss][nce][gradient]") {
  // Tolerance: 1e-7 relative to the gradient's scale (finite differences with h = 1e-6 are good to
  // ~1e-9 here; the margin covers the larger curvature at τ = 0.1).
  const double tau = GENERATE(0.1, 0.5);
  const auto kind = GENERATE(Kind::multiclass, Kind::instance);
  const auto numerics = GENERATE(Numerics::official, Numerics::stable);
  const Index b = 9, d = 4;
  Matrix f = random_matrix(b, d, 21), g = random_matrix(b, d, 22);
  const auto y = random_labels(b, 3, 23);
  CAPTURE(tau, kind == Kind::multiclass, numerics == Numerics::official);
  const bool official = numerics == Numerics::official && kind == Kind::multiclass;

  ccl::loss::PairLossResult<double> analytic;
  if (kind == Kind::multiclass) {
    analytic = MultiClassNce<double>(options(tau, numerics))(f, g, y);
  } else {
    analytic = InstanceNce<double>(options(tau, numerics))(f, g);
  }
  auto reference = [&] { return double(reference_loss(f, g, y, tau, kind, official)); };
  CHECK(relative_error(analytic.grad_f, numeric_gradient(f, reference)) < 1e-7);
  CHECK(relative_error(analytic.grad_g, numeric_gradient(g, reference)) < 1e-7);
}

TEST_CASE("contrastive losses are invariant to positive row scaling; dL/df_i is orthogonal to f_i",
          "[loss][nce][invariance]") {
  const Index b = 8;
  const Matrix f = random_matrix(b, 6, 31), g = random_matrix(b, 6, 32);
  const auto y = random_labels(b, 3, 33);
  Matrix f_scaled = f, g_scaled = g;
  for (Index i = 0; i < b; ++i) {
    f_scaled.row(i) *= 0.01 + 3.0 * double(i);
    g_scaled.row(i) *= 7.5 / double(i + 1);
  }
  MultiClassNce<double> nce(0.3);
  const auto base = nce(f, g, y);
  CHECK(nce(f_scaled, g_scaled, y).value == Approx(base.value).epsilon(1e-12));
  for (Index i = 0; i < b; ++i) {
    CHECK(std::abs(base.grad_f.row(i).dot(f.row(i))) < 1e-12);
    CHECK(std::abs(base.grad_g.row(i).dot(g.row(i))) < 1e-12);
  }
}

TEST_CASE("accumulate adds weight * gradient and skips gradients that are not requested",
          "[loss][nce][accumulate]") {
  const Matrix f = random_matrix(6, 3, 41), g = random_matrix(6, 3, 42);
  const auto y = random_labels(6, 2, 43);
  MultiClassNce<double> nce(0.5);
  const auto full = nce(f, g, y);

  Matrix grad_f = Matrix::Constant(6, 3, 1.0);
  const double value = nce.accumulate(f, g, y, 0.25, ccl::mutable_view(grad_f), {});
  CHECK(value == Approx(full.value).epsilon(1e-14));
  CHECK(relative_error(grad_f, (Matrix::Constant(6, 3, 1.0) + 0.25 * full.grad_f).eval()) < 1e-14);

  // Value only: no gradient views at all.
  CHECK(nce.accumulate(f, g, y, 1.0, {}, {}) == Approx(full.value).epsilon(1e-14));

  // 32- and 64-bit labels are interchangeable, and labels are compared, not used as indices.
  std::vector<std::int64_t> wide(y.begin(), y.end());
  for (auto& v : wide) v = v * 1000 - 7;
  CHECK(nce(f, g, wide).value == Approx(full.value).epsilon(1e-14));
}

TEST_CASE("views are zero-copy over Eigen matrices, Maps and row blocks", "[core][view]") {
  Matrix big = random_matrix(10, 4, 51);
  const ccl::EmbeddingView<const double> whole = big;
  CHECK(whole.data() == big.data());
  const ccl::EmbeddingView<const double> block = big.middleRows(2, 5);
  CHECK(block.data() == big.data() + 8);
  CHECK(block.row_stride() == 4);

  // A Map over user memory with a row stride larger than D (e.g. a slice of a wider buffer).
  std::vector<double> buffer(6 * 8);
  ccl::Rng rng(5);
  for (auto& v : buffer) v = rng.normal();
  using Strided = Eigen::Map<const Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  const Strided left(buffer.data(), 6, 3, Eigen::OuterStride<>(8));
  const Matrix copy = left;
  const auto y = random_labels(6, 2, 7);
  MultiClassNce<double> nce(0.5);
  CHECK(nce(left, left, y).value == Approx(nce(copy, copy, y).value).epsilon(1e-15));
}

TEST_CASE("numerically extreme inputs stay finite and accurate with stable numerics",
          "[loss][nce][stability]") {
  // τ = 1e-3 puts logits 2000 apart: p underflows to 0 and a negative column can hold p ≈ 1.
  const Index b = 6;
  Matrix f = random_matrix(b, 4, 61);
  Matrix g = f;
  g.row(1) = f.row(0);  // row 0's best match is column 1, a different class: a dominant negative
  std::vector<int> y{0, 1, 2, 0, 1, 2};
  for (const double tau : {1e-3, 1e-2, 0.05}) {
    CAPTURE(tau);
    MultiClassNce<double> nce(tau);
    const auto r = nce(f, g, y);
    CHECK(std::isfinite(r.value));
    CHECK(r.grad_f.allFinite());
    CHECK(r.grad_g.allFinite());
    const double expected = double(reference_loss(f, g, y, tau, Kind::multiclass, false));
    CHECK(r.value == Approx(expected).epsilon(1e-9));

    const RowMatrix<float> ff = f.cast<float>(), gf = g.cast<float>();
    const auto rf = MultiClassNce<float>(tau)(ff, gf, y);
    CHECK(std::isfinite(rf.value));
    CHECK(rf.grad_f.allFinite());
    CHECK(rf.grad_g.allFinite());
    CHECK(rf.value == Approx(expected).epsilon(1e-4));
  }
  // The gradient in the dominant-negative regime, at a τ where finite differences still work.
  Matrix fd = f, gd = g;
  const double tau = 0.02;
  const auto r = MultiClassNce<double>(tau)(fd, gd, y);
  auto reference = [&] { return double(reference_loss(fd, gd, y, tau, Kind::multiclass, false)); };
  CHECK(relative_error(r.grad_f, numeric_gradient(fd, reference, 1e-7)) < 1e-5);
  CHECK(relative_error(r.grad_g, numeric_gradient(gd, reference, 1e-7)) < 1e-5);
}

TEST_CASE("batches without negatives, B = 1 and zero rows give documented finite results",
          "[loss][nce][edge]") {
  Tv1 tv;
  const std::vector<int> one_class{2, 2, 2};
  // skip (default): only the positive term; the official code would return NaN here.
  const auto r = MultiClassNce<double>(0.5)(tv.f, tv.g, one_class);
  CHECK(std::isfinite(r.value));
  CHECK(r.value == Approx(double(reference_loss(tv.f, tv.g, one_class, 0.5, Kind::multiclass,
                                                false)))
                       .epsilon(1e-12));
  CHECK(r.grad_f.allFinite());

  ContrastiveOptions raise = options(0.5);
  raise.empty_negatives = EmptyNegatives::raise;
  CHECK_THROWS_WITH(MultiClassNce<double>(raise)(tv.f, tv.g, one_class),
                    Catch::Contains("no row has a negative"));

  // B = 1: the single column is the positive, p = 1, loss 0 and zero gradient.
  const Matrix f1 = random_matrix(1, 4, 71), g1 = random_matrix(1, 4, 72);
  const auto single = MultiClassNce<double>(0.5)(f1, g1, std::vector<int>{3});
  CHECK(single.value == Approx(0.0).margin(1e-15));
  CHECK(single.grad_f.cwiseAbs().maxCoeff() < 1e-15);

  // An all-zero row (e.g. missing audio not masked out) normalises to zero: cosine 0, finite.
  Matrix gz = random_matrix(4, 3, 73);
  gz.row(2).setZero();
  const auto z = MultiClassNce<double>(0.5)(random_matrix(4, 3, 74), gz, std::vector<int>{0, 1, 0, 1});
  CHECK(std::isfinite(z.value));
  CHECK(z.grad_g.allFinite());
}

TEST_CASE("edge values: temperatures too small for the scalar, rows whose squares overflow",
          "[loss][nce][edge][hostile]") {
  const Matrix f = random_matrix(6, 5, 91), g = random_matrix(6, 5, 92);
  const std::vector<int> y{0, 1, 0, 2, 1, 2};
  const RowMatrix<float> ff = f.cast<float>(), gf = g.cast<float>();
  // τ = 1e-39 is a positive double whose reciprocal overflows float: every logit would be ±inf
  // and the loss NaN. It is an error in float, as 1e-320 is in double.
  CHECK_THROWS_WITH(MultiClassNce<float>(1e-39)(ff, gf, y),
                    Catch::Contains("temperature 1e-39 is too small for float"));
  CHECK_THROWS_WITH(InstanceNce<float>(1e-39)(ff, gf), Catch::Contains("too small for float"));
  CHECK_THROWS_WITH(MultiClassNce<double>(1e-320)(f, g, y),
                    Catch::Contains("too small for double"));
  CHECK_THROWS_WITH(MultiClassNce<double>(std::numeric_limits<double>::infinity())(f, g, y),
                    Catch::Contains("temperature"));

  // Rows of 1e20 (float) and 1e200 (double) have squared norms beyond the type's range. The loss
  // depends on directions only, so it equals the loss of the unscaled rows, and the gradient of
  // a row scaled by s is the unscaled row's gradient divided by s.
  const auto expected = MultiClassNce<double>(0.5)(f, g, y);
  RowMatrix<float> huge_f = ff;
  huge_f.row(1) *= 1e20f;
  const auto rf = MultiClassNce<float>(0.5)(huge_f, gf, y);
  CHECK(rf.value == Approx(expected.value).epsilon(1e-5));
  CHECK(rf.grad_f.allFinite());
  CHECK(rf.grad_g.allFinite());
  const Matrix back_f = rf.grad_f.cast<double>();
  CHECK(relative_error(Matrix(back_f.row(1) * 1e20), Matrix(expected.grad_f.row(1))) < 1e-4);
  CHECK(relative_error(Matrix(back_f.row(0)), Matrix(expected.grad_f.row(0))) < 1e-4);
  CHECK(relative_error(Matrix(rf.grad_g.cast<double>()), expected.grad_g) < 1e-4);

  Matrix huge_d = f;
  huge_d.row(3) *= 1e200;
  const auto rd = MultiClassNce<double>(0.5)(huge_d, g, y);
  CHECK(rd.value == Approx(expected.value).epsilon(1e-13));
  CHECK(relative_error(Matrix(rd.grad_f.row(3) * 1e200), Matrix(expected.grad_f.row(3))) < 1e-12);
  CHECK(relative_error(rd.grad_g, expected.grad_g) < 1e-12);

  // Elements at FLT_MAX: the norm itself overflows float; the direction is still exact (same
  // loss as the unscaled row) and the gradient, O(1/FLT_MAX) in truth, is 0 or tiny, never NaN.
  RowMatrix<float> max_f = ff;
  max_f.row(4) = ff.row(4) / ff.row(4).cwiseAbs().maxCoeff() * std::numeric_limits<float>::max();
  const auto rm = MultiClassNce<float>(0.5)(max_f, gf, y);
  CHECK(rm.value == Approx(expected.value).epsilon(1e-5));
  CHECK(rm.grad_f.allFinite());
  CHECK(rm.grad_f.row(4).cwiseAbs().maxCoeff() < 1e-30f);
  CHECK(relative_error(Matrix(rm.grad_g.cast<double>()), expected.grad_g) < 1e-4);
}

TEST_CASE("zero rows: F.normalize's gradient by default, an error with ZeroRows::raise",
          "[loss][nce][edge]") {
  const Matrix f = random_matrix(4, 3, 93);
  Matrix g = random_matrix(4, 3, 94);
  g.row(2).setZero();
  const std::vector<int> y{0, 1, 0, 1};
  const auto r = MultiClassNce<double>(0.5)(f, g, y);
  CHECK(std::isfinite(r.value));
  // Documented: below the norm 1e-12 the row is divided by 1e-12 (a linear map), so the loss is
  // smooth there and its gradient is ∂L/∂ĝ / 1e-12: central differences of the forward pass with
  // steps inside that region agree.
  for (Index k = 0; k < 3; ++k) {
    const double h = 1e-16;  // ĝ moves by 1e-4: rounding and curvature both far below 1e-6
    Matrix plus = g, minus = g;
    plus(2, k) += h;
    minus(2, k) -= h;
    const double numeric = (MultiClassNce<double>(0.5)(f, plus, y).value -
                            MultiClassNce<double>(0.5)(f, minus, y).value) / (2 * h);
    CAPTURE(k, numeric, r.grad_g(2, k));
    CHECK(r.grad_g(2, k) == Approx(numeric).epsilon(1e-6).margin(1e3));
  }
  CHECK(r.grad_g.row(2).cwiseAbs().maxCoeff() > 1e6);  // large, as in PyTorch

  ContrastiveOptions raise = options(0.5);
  raise.zero_rows = ccl::loss::ZeroRows::raise;
  CHECK_THROWS_WITH(MultiClassNce<double>(raise)(f, g, y),
                    Catch::Contains("g row 2 has norm <= 1e-12") &&
                        Catch::Contains("ZeroRows::raise"));
  CHECK_THROWS_WITH(InstanceNce<double>(raise)(g, f), Catch::Contains("f row 2 has norm"));
  CHECK_NOTHROW(MultiClassNce<double>(raise)(f, random_matrix(4, 3, 95), y));
}

TEST_CASE("bad inputs raise ccl::error naming the argument", "[loss][nce][errors]") {
  const Matrix f = random_matrix(4, 3, 81), g = random_matrix(4, 3, 82);
  const std::vector<int> y{0, 1, 0, 1};
  MultiClassNce<double> nce(0.5);

  CHECK_THROWS_WITH(nce(f, random_matrix(5, 3, 1), std::vector<int>{0, 1, 0, 1, 0}),
                    Catch::Contains("g has shape [5, 3], expected [4, 3]"));
  CHECK_THROWS_WITH(nce(f, random_matrix(4, 2, 1), y), Catch::Contains("g has shape [4, 2]"));
  CHECK_THROWS_WITH(nce(Matrix(0, 3), Matrix(0, 3), std::vector<int>{}),
                    Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(nce(Matrix(4, 0), Matrix(4, 0), y), Catch::Contains("no features"));
  CHECK_THROWS_WITH(nce(f, g, std::vector<int>{0, 1, 0}), Catch::Contains("3 labels for a batch of 4"));

  Matrix bad = f;
  bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(nce(bad, g, y), Catch::Contains("f[2, 1] = nan is not finite"));
  bad(2, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(nce(f, bad, y), Catch::Contains("g[2, 1] = inf is not finite"));

  for (const double tau : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    CHECK_THROWS_WITH(MultiClassNce<double>(tau)(f, g, y), Catch::Contains("temperature"));
    CHECK_THROWS_AS(InstanceNce<double>(tau)(f, g), ccl::error);
  }

  Matrix wrong_grad(3, 3);
  CHECK_THROWS_WITH(nce.accumulate(f, g, y, 1.0, ccl::mutable_view(wrong_grad), {}),
                    Catch::Contains("grad_f has shape [3, 3], expected [4, 3]"));

  ContrastiveOptions negative_tile = options(0.5);
  negative_tile.tile_rows = -2;
  CHECK_THROWS_WITH(MultiClassNce<double>(negative_tile)(f, g, y), Catch::Contains("tile_rows"));

  // Instance NCE takes no labels, but rejects a label vector that does not match the batch.
  CHECK_THROWS_WITH(InstanceNce<double>(0.5)(f, g, std::vector<int>{1}),
                    Catch::Contains("1 labels for a batch of 4"));
}

TEST_CASE("Symmetric sums both anchor directions", "[loss][symmetric]") {
  const Matrix f = random_matrix(7, 4, 91), g = random_matrix(7, 4, 92);
  const auto y = random_labels(7, 3, 93);
  MultiClassNce<double> nce(0.5);
  const auto forward = nce(f, g, y);
  const auto backward = nce(g, f, y);
  auto sym = ccl::loss::symmetric(MultiClassNce<double>(0.5));
  const auto both = sym(f, g, y);
  CHECK(both.value == Approx(forward.value + backward.value).epsilon(1e-14));
  CHECK(relative_error(both.grad_f, (forward.grad_f + backward.grad_g).eval()) < 1e-14);
  CHECK(relative_error(both.grad_g, (forward.grad_g + backward.grad_f).eval()) < 1e-14);
}

TEST_CASE("Distill weights the raw and composed terms by lambda", "[loss][distill]") {
  const Index b = 6, d = 3;
  Matrix v = random_matrix(b, d, 101), t = random_matrix(b, d, 102), tv = random_matrix(b, d, 103);
  const auto y = random_labels(b, 2, 104);
  const double lambda = 0.3;
  ccl::loss::Distill<MultiClassNce<double>, double> distill(MultiClassNce<double>(0.5), lambda);
  const auto r = distill(v, t, tv, y);

  auto reference = [&] {
    return double(lambda * reference_loss(v, t, y, 0.5, Kind::multiclass, false) +
                  (1 - lambda) * reference_loss(v, tv, y, 0.5, Kind::multiclass, false));
  };
  CHECK(r.value == Approx(reference()).epsilon(1e-12));
  CHECK(r.value == Approx(lambda * r.raw_term + (1 - lambda) * r.composed_term).epsilon(1e-14));
  CHECK(relative_error(r.grad_student, numeric_gradient(v, reference)) < 1e-7);
  CHECK(relative_error(r.grad_teacher, numeric_gradient(t, reference)) < 1e-7);
  CHECK(relative_error(r.grad_composed, numeric_gradient(tv, reference)) < 1e-7);

  CHECK_THROWS_WITH((ccl::loss::Distill<MultiClassNce<double>, double>(MultiClassNce<double>(), 1.5)),
                    Catch::Contains("lambda must lie in [0, 1]"));
  CHECK_THROWS_WITH(distill(v, t, random_matrix(b, d + 1, 1), y),
                    Catch::Contains("composed has shape [6, 4], expected [6, 3]"));
}

namespace {
// The documented gap between the two numerics, from an independent long-double softmax:
// L_stable − L_official = (1/B) Σ_i [ mean_{j∈P(i)} log(1 + ε/p_ij) + mean_{j∈N(i)} log(1 + ε/(1 − p_ij)) ]
// with ε = 1e-10, and its first-order form with ε/p in place of log(1 + ε/p).
struct NumericsGap {
  Real exact = 0, first_order = 0;
};
NumericsGap reference_numerics_gap(const Matrix& f, const Matrix& g, const std::vector<int>& y,
                                   double tau) {
  const Index b = f.rows();
  const Real eps = 1e-10L;
  NumericsGap gap;
  for (Index i = 0; i < b; ++i) {
    std::vector<Real> s(std::size_t(b), 0);
    for (Index j = 0; j < b; ++j) {
      Real dot = 0, nf = 0, ng = 0;
      for (Index k = 0; k < f.cols(); ++k) {
        dot += Real(f(i, k)) * Real(g(j, k));
        nf += Real(f(i, k)) * Real(f(i, k));
        ng += Real(g(j, k)) * Real(g(j, k));
      }
      s[std::size_t(j)] = dot / std::sqrt(nf * ng) / Real(tau);
    }
    const Real max = *std::max_element(s.begin(), s.end());
    Real z = 0;
    for (Real v : s) z += std::exp(v - max);
    Real pos = 0, pos_first = 0, neg = 0, neg_first = 0;
    Index n_pos = 0, n_neg = 0;
    for (Index j = 0; j < b; ++j) {
      const Real p = std::exp(s[std::size_t(j)] - max) / z;
      if (y[std::size_t(j)] == y[std::size_t(i)]) {
        pos += std::log1p(eps / p), pos_first += eps / p, ++n_pos;
      } else {
        neg += std::log1p(eps / (1 - p)), neg_first += eps / (1 - p), ++n_neg;
      }
    }
    gap.exact += pos / Real(n_pos) + (n_neg > 0 ? neg / Real(n_neg) : 0);
    gap.first_order += pos_first / Real(n_pos) + (n_neg > 0 ? neg_first / Real(n_neg) : 0);
  }
  gap.exact /= Real(b);
  gap.first_order /= Real(b);
  return gap;
}
}  // namespace

TEST_CASE("The official numerics sit below the stable ones by the documented ε/p gap",
          "[loss][nce][numerics]") {
  // docs/losses.md states the gap and these figures: it is not "about 1e-9" but ε times the mean
  // of 1/p over the positives, which grows quickly as τ falls.
  Tv1 tv;
  struct Figure {
    double tau, gap;
  };
  for (const Figure& figure : {Figure{2.0, 4.08e-10}, Figure{0.5, 4.41e-10}, Figure{0.2, 1.47e-9},
                               Figure{0.1, 3.98e-8}, Figure{0.07, 8.14e-7}}) {
    CAPTURE(figure.tau);
    const double stable = MultiClassNce<double>(options(figure.tau, Numerics::stable))(tv.f, tv.g, tv.y).value;
    const double official =
        MultiClassNce<double>(options(figure.tau, Numerics::official))(tv.f, tv.g, tv.y).value;
    const NumericsGap reference = reference_numerics_gap(tv.f, tv.g, tv.y, figure.tau);
    CHECK(stable - official == Approx(double(reference.exact)).epsilon(1e-4).margin(1e-15));
    CHECK(stable - official == Approx(figure.gap).epsilon(5e-3));
    CHECK(reference.exact <= reference.first_order);  // log(1 + x) <= x
    // The closed worst case ε·e^{2/τ}·(B + 2) holds (and is far from tight).
    CHECK(stable - official <= 1e-10 * std::exp(2 / figure.tau) * (3 + 2));
  }
  // A larger batch at the paper's image temperature: correlated pairs, 51 classes.
  const Matrix f = random_matrix(96, 16, 5);
  const Matrix g = (f + 0.5 * random_matrix(96, 16, 6)).eval();
  const auto y = random_labels(96, 51, 7);
  for (double tau : {0.5, 0.1, 0.07}) {
    CAPTURE(tau);
    const double gap = MultiClassNce<double>(options(tau, Numerics::stable))(f, g, y).value -
                       MultiClassNce<double>(options(tau, Numerics::official))(f, g, y).value;
    CHECK(gap > 0);
    CHECK(gap == Approx(double(reference_numerics_gap(f, g, y, tau).exact)).epsilon(1e-3).margin(1e-14));
  }
}
