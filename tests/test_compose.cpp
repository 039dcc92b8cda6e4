// Composition policies (compose::Residual, Sum, ConcatLinear, Gated): TV3 of method.md §10, a
// plain-loop reference of every forward, central finite differences in double for every
// parameter and input gradient, gradient routing, the interface trait, and bad input; plus an
// end-to-end gradient check of Distill<MultiClassNce> composed with Residual.

#include <ccl/compose/composition.hpp>
#include <ccl/compose/concat_linear.hpp>
#include <ccl/compose/gated.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/compose/sum.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/multiclass_nce.hpp>

#include <catch2/catch.hpp>

#include "support/finite_difference.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using Catch::Matchers::Contains;

namespace {

RowMatrix<double> random_matrix(ccl::Rng& rng, Index rows, Index cols) {
  RowMatrix<double> m(rows, cols);
  rng.fill_uniform(m, -1.0, 1.0);
  return m;
}

double max_abs(const RowMatrix<double>& a) { return a.size() == 0 ? 0.0 : a.cwiseAbs().maxCoeff(); }

// ---- plain-loop references --------------------------------------------------------------

std::vector<double> naive_normalize(std::vector<double> x, bool on) {
  if (!on) return x;
  double sum = 0;
  for (double v : x) sum += v * v;
  const double norm = std::max(std::sqrt(sum), 1e-12);
  for (double& v : x) v /= norm;
  return x;
}

std::vector<double> row_of(const RowMatrix<double>& m, Index i) {
  std::vector<double> r;
  for (Index j = 0; j < m.cols(); ++j) r.push_back(m(i, j));
  return r;
}

std::vector<double> naive_affine(const std::vector<double>& x, const ccl::nn::Linear<double>& l) {
  std::vector<double> y;
  for (Index k = 0; k < l.out_features(); ++k) {
    double s = l.bias().value(0, k);
    for (Index i = 0; i < l.in_features(); ++i) s += l.weight().value(k, i) * x[std::size_t(i)];
    y.push_back(s);
  }
  return y;
}

std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// x_tv of each policy for one sample, written from the formulas.
std::vector<double> naive_composed(const ccl::compose::Residual<double>& c,
                                   const std::vector<double>& t, const std::vector<double>& v) {
  const bool n = c.options().normalize;
  std::vector<double> r = naive_affine(concat(naive_normalize(t, n), naive_normalize(v, n)),
                                       c.residual());
  for (std::size_t k = 0; k < r.size(); ++k) r[k] += t[k];
  return r;
}
std::vector<double> naive_composed(const ccl::compose::Sum<double>&, const std::vector<double>& t,
                                   const std::vector<double>& v) {
  std::vector<double> r = t;
  for (std::size_t k = 0; k < r.size(); ++k) r[k] += v[k];
  return r;
}
std::vector<double> naive_composed(const ccl::compose::ConcatLinear<double>& c,
                                   const std::vector<double>& t, const std::vector<double>& v,
                                   bool normalize) {
  return naive_affine(concat(naive_normalize(t, normalize), naive_normalize(v, normalize)),
                      c.linear());
}
std::vector<double> naive_composed(const ccl::compose::Gated<double>& c,
                                   const std::vector<double>& t, const std::vector<double>& v,
                                   bool normalize) {
  const std::vector<double> a =
      naive_affine(concat(naive_normalize(t, normalize), naive_normalize(v, normalize)), c.gate());
  std::vector<double> r(t.size());
  for (std::size_t k = 0; k < r.size(); ++k) {
    const double g = 1 / (1 + std::exp(-a[k]));
    r[k] = g * t[k] + (1 - g) * v[k];
  }
  return r;
}

template <class C, class Naive>
void check_against_naive(C& c, const RowMatrix<double>& t, const RowMatrix<double>& v,
                         Naive naive) {
  const ccl::compose::CompositionOutput<double> out = c.forward(ccl::view(t), ccl::view(v));
  REQUIRE(out.composed.rows() == t.rows());
  REQUIRE(out.composed.cols() == c.composed_dim());
  REQUIRE(out.logits.cols() == c.classes());
  for (Index i = 0; i < t.rows(); ++i) {
    const std::vector<double> x = naive(row_of(t, i), row_of(v, i));
    const std::vector<double> z = naive_affine(x, c.classifier());
    for (Index k = 0; k < c.composed_dim(); ++k)
      CHECK(out.composed.matrix()(i, k) == Approx(x[std::size_t(k)]).margin(1e-12));
    for (Index k = 0; k < c.classes(); ++k)
      CHECK(out.logits.matrix()(i, k) == Approx(z[std::size_t(k)]).margin(1e-12));
  }
}

// ---- finite differences -----------------------------------------------------------------

// A smooth test loss of both outputs: L = Σ a ⊙ x_tv + Σ b ⊙ z_tv + ½‖x_tv‖² + ¼‖z_tv‖².
struct TestLoss {
  RowMatrix<double> a, b;
  template <class C>
  double value(C& c, const RowMatrix<double>& t, const RowMatrix<double>& v) const {
    const auto out = c.forward(ccl::view(t), ccl::view(v));
    const auto x = out.composed.matrix();
    const auto z = out.logits.matrix();
    return (a.array() * x.array()).sum() + (b.array() * z.array()).sum() + 0.5 * x.squaredNorm() +
           0.25 * z.squaredNorm();
  }
};

// Checks every parameter gradient and both input gradients against central differences.
// Tolerance 1e-6 relative: with h = 1e-6 the truncation error of the normalisation's curvature
// is ~1e-12 · (1/‖x‖³) and rounding ~1e-10, both far below it.
template <class C>
void check_gradients(C& c, ccl::Rng& rng, Index batch) {
  RowMatrix<double> t = random_matrix(rng, batch, c.teacher_dim());
  RowMatrix<double> v = random_matrix(rng, batch, c.student_dim());
  const TestLoss loss{random_matrix(rng, batch, c.composed_dim()),
                      random_matrix(rng, batch, c.classes())};

  c.zero_grad();
  const auto out = c.forward(ccl::view(t), ccl::view(v));
  const RowMatrix<double> grad_x = loss.a + out.composed.matrix();
  const RowMatrix<double> grad_z = loss.b + 0.5 * out.logits.matrix();
  RowMatrix<double> grad_t = RowMatrix<double>::Zero(batch, c.teacher_dim());
  RowMatrix<double> grad_v = RowMatrix<double>::Zero(batch, c.student_dim());
  c.backward(ccl::view(grad_x), ccl::view(grad_z), ccl::mutable_view(grad_v),
             ccl::mutable_view(grad_t));

  auto f = [&] { return loss.value(c, t, v); };
  CHECK(ccl::testing::relative_error(grad_v, ccl::testing::numeric_gradient(v, f)) < 1e-6);
  CHECK(ccl::testing::relative_error(grad_t, ccl::testing::numeric_gradient(t, f)) < 1e-6);
  int visited = 0;
  c.for_each_parameter([&](ccl::Parameter<double>& p) {
    INFO("parameter " << p.name);
    CHECK(ccl::testing::relative_error(p.grad, ccl::testing::numeric_gradient(p.value, f)) <
          1e-6);
    ++visited;
  });
  CHECK(visited >= 2);
}

template <class C>
std::vector<std::string> parameter_names(C& c) {
  std::vector<std::string> names;
  c.for_each_parameter([&](const ccl::Parameter<double>& p) { names.push_back(p.name); });
  return names;
}

template <class C>
Index parameter_count(C& c) {
  Index n = 0;
  c.for_each_parameter([&](const ccl::Parameter<float>& p) { n += p.size(); });
  return n;
}

}  // namespace

// ---- the interface ----------------------------------------------------------------------

static_assert(ccl::compose::is_composition_v<ccl::compose::Residual<double>>);
static_assert(ccl::compose::is_composition_v<ccl::compose::Sum<double>>);
static_assert(ccl::compose::is_composition_v<ccl::compose::ConcatLinear<float>>);
static_assert(ccl::compose::is_composition_v<ccl::compose::Gated<double>>);
static_assert(ccl::compose::assert_composition<ccl::compose::Residual<double>>());
static_assert(!ccl::compose::is_composition_v<ccl::nn::Linear<double>>,
              "a layer without the two-input forward is not a composition");
static_assert(!ccl::compose::is_composition_v<int>);

// ---- TV3 and references -----------------------------------------------------------------

TEST_CASE("Residual reproduces TV3 (method.md §10)", "[compose][tv3]") {
  RowMatrix<double> x_t(2, 2), x_v(2, 2), w1(2, 4), b1(1, 2), w2(3, 2), b2(1, 3);
  x_t << 3, 4, 0, 2;
  x_v << 1, 0, 1, 1;
  w1 << 0.1, 0.2, 0.3, 0.4, -0.5, 0.6, -0.7, 0.8;
  b1 << 0.01, -0.02;
  w2 << 1, -1, 0.5, 0.25, -0.3, 0.2;
  b2 << 0, 0.1, -0.1;
  ccl::compose::Residual<double> head(2, 2, 3);
  head.residual().set_weight(ccl::view(w1));
  head.residual().set_bias(ccl::view(b1));
  head.classifier().set_weight(ccl::view(w2));
  head.classifier().set_bias(ccl::view(b2));
  const auto out = head.forward(ccl::view(x_t), ccl::view(x_v));

  RowMatrix<double> x_tv(2, 2), z_tv(2, 3);
  x_tv << 3.53, 3.46, 0.7049747468, 2.6507106781;
  z_tv << 0.07, 2.73, -0.467, -1.9457359313, 1.1151650429, 0.2186497116;
  // The reference values carry 10 decimals.
  CHECK(max_abs(out.composed.matrix() - x_tv) < 1e-9);
  CHECK(max_abs(out.logits.matrix() - z_tv) < 1e-9);
}

TEST_CASE("Composition forwards match plain loops", "[compose][reference]") {
  ccl::Rng rng(42);
  const RowMatrix<double> t = random_matrix(rng, 5, 6) * 3.0;
  const RowMatrix<double> v = random_matrix(rng, 5, 4);
  const RowMatrix<double> v6 = random_matrix(rng, 5, 6);
  for (bool normalize : {true, false}) {
    INFO("normalize = " << normalize);
    ccl::compose::Residual<double> residual(6, 4, 3, rng, {normalize});
    check_against_naive(residual, t, v, [&](const auto& a, const auto& b) {
      return naive_composed(residual, a, b);
    });
    ccl::compose::ConcatLinear<double> cat(6, 4, 3, rng, {normalize, 5});
    CHECK(cat.composed_dim() == 5);
    check_against_naive(cat, t, v, [&](const auto& a, const auto& b) {
      return naive_composed(cat, a, b, normalize);
    });
    ccl::compose::Gated<double> gated(6, 6, 3, rng, {normalize});
    check_against_naive(gated, t, v6, [&](const auto& a, const auto& b) {
      return naive_composed(gated, a, b, normalize);
    });
  }
  ccl::compose::Sum<double> sum(6, 6, 3, rng);
  check_against_naive(sum, t, v6,
                      [&](const auto& a, const auto& b) { return naive_composed(sum, a, b); });
}

TEST_CASE("Residual head has the official parameter count and names", "[compose]") {
  ccl::Rng rng(0);
  ccl::compose::Residual<float> head(512, 512, 51, rng);
  CHECK(parameter_count(head) == 550963);  // method.md §3.4
  ccl::compose::Residual<double> small(2, 3, 4);
  CHECK(parameter_names(small) == std::vector<std::string>{"residual.weight", "residual.bias",
                                                           "classifier.weight",
                                                           "classifier.bias"});
  CHECK(small.residual().weight().value.rows() == 2);
  CHECK(small.residual().weight().value.cols() == 5);
  ccl::compose::Sum<double> sum(3, 3, 4);
  CHECK(parameter_names(sum) == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  ccl::compose::ConcatLinear<double> cat(3, 2, 4);
  CHECK(parameter_names(cat).front() == "linear.weight");
  ccl::compose::Gated<double> gated(3, 3, 4);
  CHECK(parameter_names(gated).front() == "gate.weight");
  // The initialisation follows nn::Linear: W_1 within 1/sqrt(Dt + Dv), W_2 within 1/sqrt(Dt).
  CHECK(head.residual().weight().value.cwiseAbs().maxCoeff() <= 1 / std::sqrt(1024.f));
  CHECK(head.classifier().weight().value.cwiseAbs().maxCoeff() <= 1 / std::sqrt(512.f));
}

// ---- gradients --------------------------------------------------------------------------

TEST_CASE("Composition gradients match central finite differences", "[compose][gradient]") {
  ccl::Rng rng(9);
  for (bool normalize : {true, false}) {
    INFO("normalize = " << normalize);
    SECTION("Residual") {
      ccl::compose::Residual<double> c(5, 3, 4, rng, {normalize});
      check_gradients(c, rng, 6);
    }
    SECTION("ConcatLinear") {
      ccl::compose::ConcatLinear<double> c(5, 3, 4, rng, {normalize, 4});
      check_gradients(c, rng, 6);
    }
    SECTION("Gated") {
      ccl::compose::Gated<double> c(4, 4, 3, rng, {normalize});
      check_gradients(c, rng, 5);
    }
  }
  SECTION("Sum") {
    ccl::compose::Sum<double> c(4, 4, 3, rng);
    check_gradients(c, rng, 5);
  }
  SECTION("Residual with a zero teacher row (missing audio left in the batch)") {
    // x̂ = x / max(‖x‖, 1e-12) is linear near 0, so the gradient stays finite.
    ccl::compose::Residual<double> c(3, 3, 2, rng);
    RowMatrix<double> t = RowMatrix<double>::Zero(2, 3);
    const RowMatrix<double> v = random_matrix(rng, 2, 3);
    c.forward(ccl::view(t), ccl::view(v));
    RowMatrix<double> grad_t = RowMatrix<double>::Zero(2, 3);
    const RowMatrix<double> g = RowMatrix<double>::Ones(2, 3);
    c.backward(ccl::view(g), {}, {}, ccl::mutable_view(grad_t));
    CHECK(grad_t.allFinite());
  }
}

TEST_CASE("Composition backward routes gradients as asked", "[compose][gradient]") {
  ccl::Rng rng(17);
  ccl::compose::Residual<double> c(4, 4, 3, rng);
  const RowMatrix<double> t = random_matrix(rng, 3, 4);
  const RowMatrix<double> v = random_matrix(rng, 3, 4);
  const RowMatrix<double> gx = random_matrix(rng, 3, 4);
  const RowMatrix<double> gz = random_matrix(rng, 3, 3);
  c.forward(ccl::view(t), ccl::view(v));

  c.zero_grad();
  RowMatrix<double> gv1 = RowMatrix<double>::Zero(3, 4);
  c.backward(ccl::view(gx), ccl::view(gz), ccl::mutable_view(gv1));
  const RowMatrix<double> w1_once = c.residual().weight().grad;
  const RowMatrix<double> w2_once = c.classifier().weight().grad;

  SECTION("backward accumulates into parameters and inputs") {
    RowMatrix<double> gv2 = gv1;
    c.backward(ccl::view(gx), ccl::view(gz), ccl::mutable_view(gv2));
    CHECK(max_abs(gv2 - 2 * gv1) < 1e-14);
    CHECK(max_abs(c.residual().weight().grad - 2 * w1_once) < 1e-14);
  }
  SECTION("ParameterGradients::skip reaches the student only") {
    RowMatrix<double> gv2 = RowMatrix<double>::Zero(3, 4);
    c.backward(ccl::view(gx), ccl::view(gz), ccl::mutable_view(gv2), {},
               ccl::nn::ParameterGradients::skip);
    CHECK(max_abs(gv2 - gv1) < 1e-14);
    CHECK(max_abs(c.residual().weight().grad - w1_once) == 0);
    CHECK(max_abs(c.classifier().weight().grad - w2_once) == 0);
  }
  SECTION("the two output gradients superpose and may be omitted") {
    RowMatrix<double> only_x = RowMatrix<double>::Zero(3, 4);
    RowMatrix<double> only_z = RowMatrix<double>::Zero(3, 4);
    c.backward(ccl::view(gx), {}, ccl::mutable_view(only_x));
    c.backward({}, ccl::view(gz), ccl::mutable_view(only_z));
    CHECK(max_abs(only_x + only_z - gv1) < 1e-14);
  }
  SECTION("Algorithm A: heads by CE only, student by its own objective") {
    // Pass 1 (CE on z_tv, standing in for gz) updates the head only; pass 2 (the student's
    // terms, via x_tv) reaches x_v but must not touch the head.
    c.zero_grad();
    c.backward({}, ccl::view(gz), {});
    const RowMatrix<double> head_w1 = c.residual().weight().grad;
    const RowMatrix<double> head_w2 = c.classifier().weight().grad;
    CHECK(max_abs(head_w2) > 0);
    RowMatrix<double> gv = RowMatrix<double>::Zero(3, 4);
    c.backward(ccl::view(gx), {}, ccl::mutable_view(gv), {}, ccl::nn::ParameterGradients::skip);
    CHECK(max_abs(c.residual().weight().grad - head_w1) == 0);
    CHECK(max_abs(c.classifier().weight().grad - head_w2) == 0);
    // The student's gradient is that of the x_tv term alone.
    c.zero_grad();
    RowMatrix<double> only_x = RowMatrix<double>::Zero(3, 4);
    c.backward(ccl::view(gx), {}, ccl::mutable_view(only_x));
    CHECK(max_abs(gv - only_x) < 1e-15);
    CHECK(max_abs(gv) > 0);
  }
}

TEST_CASE("Distill<MultiClassNce> through Residual: end-to-end gradients", "[compose][gradient]") {
  // L = λ·NCE(x_v, x_t) + (1 − λ)·NCE(x_v, x_tv(x_t, x_v; W_1, b_1)), x_t frozen: the gradient
  // of x_v has a direct part (both NCE terms) and a part through the composition.
  using Nce = ccl::loss::MultiClassNce<double>;
  ccl::Rng rng(123);
  const Index batch = 6;
  const Index dim = 4;
  ccl::compose::Residual<double> head(dim, dim, 3, rng);
  ccl::loss::Distill<Nce, double> distill(Nce(0.5), 0.5);
  RowMatrix<double> t = random_matrix(rng, batch, dim);
  RowMatrix<double> v = random_matrix(rng, batch, dim);
  const std::vector<std::int64_t> labels = {0, 1, 0, 2, 1, 0};

  auto loss = [&] {
    const auto out = head.forward(ccl::view(t), ccl::view(v));
    return distill(ccl::view(v), ccl::view(t), out.composed, labels).value;
  };

  head.zero_grad();
  const auto out = head.forward(ccl::view(t), ccl::view(v));
  RowMatrix<double> grad_v = RowMatrix<double>::Zero(batch, dim);
  RowMatrix<double> grad_tv = RowMatrix<double>::Zero(batch, dim);
  const double value = distill.accumulate(ccl::view(v), ccl::view(t), out.composed, labels, 1.0,
                                          ccl::mutable_view(grad_v), {},
                                          ccl::mutable_view(grad_tv));
  head.backward(ccl::view(grad_tv), {}, ccl::mutable_view(grad_v));
  CHECK(std::isfinite(value));
  CHECK(value == Approx(loss()).epsilon(1e-14));

  // Tolerance 1e-6 relative, as for the composition alone (the NCE adds softmax curvature / τ).
  CHECK(ccl::testing::relative_error(grad_v, ccl::testing::numeric_gradient(v, loss)) < 1e-6);
  CHECK(ccl::testing::relative_error(
            head.residual().weight().grad,
            ccl::testing::numeric_gradient(head.residual().weight().value, loss)) < 1e-6);
  CHECK(ccl::testing::relative_error(
            head.residual().bias().grad,
            ccl::testing::numeric_gradient(head.residual().bias().value, loss)) < 1e-6);
  // The classifier does not take part in this loss.
  CHECK(head.classifier().weight().grad.isZero());
}

// ---- bad input --------------------------------------------------------------------------

TEST_CASE("Compositions reject bad input with a clear error", "[compose][errors]") {
  ccl::Rng rng(3);
  ccl::compose::Residual<double> head(4, 3, 2, rng);
  const RowMatrix<double> t = random_matrix(rng, 5, 4);
  const RowMatrix<double> v = random_matrix(rng, 5, 3);

  REQUIRE_THROWS_WITH(head.forward(ccl::view(v), ccl::view(v)),
                      Contains("compose::Residual: teacher has shape [5, 3] but the composition "
                               "was built for teacher_dim = 4"));
  REQUIRE_THROWS_WITH(head.forward(ccl::view(t), ccl::view(t)),
                      Contains("student has shape [5, 4] but the composition was built for "
                               "student_dim = 3"));
  const RowMatrix<double> v4 = random_matrix(rng, 4, 3);
  REQUIRE_THROWS_WITH(head.forward(ccl::view(t), ccl::view(v4)),
                      Contains("student has 4 rows"));
  const RowMatrix<double> empty_t(0, 4), empty_v(0, 3);
  REQUIRE_THROWS_WITH(head.forward(ccl::view(empty_t), ccl::view(empty_v)),
                      Contains("empty batch"));
  RowMatrix<double> nan_v = v;
  nan_v(2, 1) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(head.forward(ccl::view(t), ccl::view(nan_v)),
                      Contains("compose::Residual: student[2, 1] = nan is not finite"));
  RowMatrix<double> inf_t = t;
  inf_t(0, 0) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_AS(head.forward(ccl::view(inf_t), ccl::view(v)), ccl::error);

  ccl::compose::Residual<double> fresh(4, 3, 2, rng);
  RowMatrix<double> gv = RowMatrix<double>::Zero(5, 3);
  const RowMatrix<double> gx = RowMatrix<double>::Zero(5, 4);
  REQUIRE_THROWS_WITH(fresh.backward(ccl::view(gx), {}, ccl::mutable_view(gv)),
                      Contains("backward called before forward"));

  head.forward(ccl::view(t), ccl::view(v));
  const RowMatrix<double> bad_gz = RowMatrix<double>::Zero(5, 3);
  REQUIRE_THROWS_WITH(head.backward(ccl::view(gx), ccl::view(bad_gz), ccl::mutable_view(gv)),
                      Contains("grad_logits has shape [5, 3], expected [5, 2]"));
  RowMatrix<double> bad_gv = RowMatrix<double>::Zero(5, 4);
  REQUIRE_THROWS_WITH(head.backward(ccl::view(gx), {}, ccl::mutable_view(bad_gv)),
                      Contains("grad_student has shape [5, 4], expected [5, 3]"));
  RowMatrix<double> bad_gt = RowMatrix<double>::Zero(4, 4);
  REQUIRE_THROWS_WITH(head.backward(ccl::view(gx), {}, {}, ccl::mutable_view(bad_gt)),
                      Contains("grad_teacher has shape [4, 4], expected [5, 4]"));

  REQUIRE_THROWS_WITH(ccl::compose::Residual<double>(0, 3, 2), Contains("must be positive"));
  REQUIRE_THROWS_WITH(ccl::compose::Sum<double>(4, 3, 2),
                      Contains("needs teacher_dim == student_dim, got 4 and 3"));
  REQUIRE_THROWS_WITH(ccl::compose::Gated<double>(4, 3, 2),
                      Contains("teacher_dim must equal student_dim"));
  ccl::compose::ConcatLinearOptions bad;
  bad.composed_dim = -1;
  REQUIRE_THROWS_WITH(ccl::compose::ConcatLinear<double>(4, 3, 2, bad),
                      Contains("composed_dim must be >= 0"));

  // Every policy uses the same checks.
  ccl::compose::Sum<double> sum(3, 3, 2, rng);
  REQUIRE_THROWS_WITH(sum.forward(ccl::view(t), ccl::view(v)),
                      Contains("compose::Sum: teacher has shape [5, 4]"));
  ccl::compose::ConcatLinear<double> cat(4, 3, 2, rng);
  REQUIRE_THROWS_WITH(cat.forward(ccl::view(v), ccl::view(v)),
                      Contains("compose::ConcatLinear: teacher has shape [5, 3]"));

  // A batch of one is valid.
  const RowMatrix<double> t1 = t.topRows(1), v1 = v.topRows(1);
  CHECK(head.forward(ccl::view(t1), ccl::view(v1)).composed.rows() == 1);
}

TEST_CASE("Compositions in float agree with double", "[compose]") {
  // The same seed gives the same parameters in both precisions (nn::Linear draws doubles);
  // float results must match the double ones to float accuracy (1e-5 relative to O(1) values).
  ccl::Rng init_f(5), init_d(5), data(6);
  ccl::compose::Residual<float> head_f(8, 8, 5, init_f);
  ccl::compose::Residual<double> head_d(8, 8, 5, init_d);
  const RowMatrix<double> t = random_matrix(data, 4, 8), v = random_matrix(data, 4, 8);
  const RowMatrix<double> gz = random_matrix(data, 4, 5), gx = random_matrix(data, 4, 8);
  const RowMatrix<float> tf = t.cast<float>(), vf = v.cast<float>(), gzf = gz.cast<float>(),
                         gxf = gx.cast<float>();
  const auto out_f = head_f.forward(ccl::view(tf), ccl::view(vf));
  const auto out_d = head_d.forward(ccl::view(t), ccl::view(v));
  CHECK(max_abs(out_f.composed.matrix().cast<double>() - out_d.composed.matrix()) < 1e-5);
  CHECK(max_abs(out_f.logits.matrix().cast<double>() - out_d.logits.matrix()) < 1e-5);
  RowMatrix<float> gv_f = RowMatrix<float>::Zero(4, 8);
  RowMatrix<double> gv_d = RowMatrix<double>::Zero(4, 8);
  head_f.backward(ccl::view(gxf), ccl::view(gzf), ccl::mutable_view(gv_f));
  head_d.backward(ccl::view(gx), ccl::view(gz), ccl::mutable_view(gv_d));
  CHECK(max_abs(gv_f.cast<double>() - gv_d) < 1e-5);
  CHECK(max_abs(head_f.residual().weight().grad.cast<double>() -
                head_d.residual().weight().grad) < 1e-5);
}
