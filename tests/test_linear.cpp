// nn::Linear: a naive triple loop as the reference, central finite differences in double for
// W, b and x, the PyTorch-default initialisation, and bad input.

#include <ccl/nn/linear.hpp>

#include <catch2/catch.hpp>

#include "support/finite_difference.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;

namespace {

template <class Scalar>
RowMatrix<Scalar> random_matrix(ccl::Rng& rng, Index rows, Index cols) {
  RowMatrix<Scalar> m(rows, cols);
  rng.fill_uniform(m, -1.0, 1.0);
  return m;
}

// y_bk = Σ_i x_bi W_ki + b_k, written as plain loops.
template <class Scalar>
RowMatrix<double> naive_linear(const RowMatrix<Scalar>& x, const RowMatrix<Scalar>& w,
                               const RowMatrix<Scalar>& b) {
  RowMatrix<double> y(x.rows(), w.rows());
  for (Index r = 0; r < x.rows(); ++r) {
    for (Index k = 0; k < w.rows(); ++k) {
      double sum = b.size() > 0 ? double(b(0, k)) : 0.0;
      for (Index i = 0; i < x.cols(); ++i) sum += double(x(r, i)) * double(w(k, i));
      y(r, k) = sum;
    }
  }
  return y;
}

// A smooth scalar loss of the output: L = Σ c ⊙ y + ½ Σ y², so dL/dy = c + y.
double test_loss(const RowMatrix<double>& y, const RowMatrix<double>& c) {
  return (c.array() * y.array()).sum() + 0.5 * y.squaredNorm();
}

}  // namespace

TEMPLATE_TEST_CASE("Linear forward matches a naive loop", "[linear]", float, double) {
  ccl::Rng rng(7);
  for (bool bias : {true, false}) {
    ccl::nn::Linear<TestType> layer(13, 5, rng, bias);
    const RowMatrix<TestType> x = random_matrix<TestType>(rng, 9, 13);
    const RowMatrix<TestType>& y = layer.forward(ccl::view(x));
    const RowMatrix<double> expected = naive_linear(x, layer.weight().value, layer.bias().value);
    REQUIRE(y.rows() == 9);
    REQUIRE(y.cols() == 5);
    const double tolerance = std::is_same_v<TestType, float> ? 1e-5 : 1e-13;
    CHECK((y.template cast<double>() - expected).cwiseAbs().maxCoeff() < tolerance);
  }
}

TEST_CASE("Linear forward reuses its output workspace", "[linear]") {
  ccl::Rng rng(1);
  ccl::nn::Linear<float> layer(4, 3, rng);
  const RowMatrix<float> x = random_matrix<float>(rng, 6, 4);
  const float* first = layer.forward(ccl::view(x)).data();
  const float* second = layer.forward(ccl::view(x)).data();
  CHECK(first == second);
  CHECK(&layer.output() == &layer.forward(ccl::view(x)));
}

TEST_CASE("Linear gradients match central finite differences", "[linear][gradient]") {
  ccl::Rng rng(11);
  for (bool bias : {true, false}) {
    ccl::nn::Linear<double> layer(6, 4, rng, bias);
    RowMatrix<double> x = random_matrix<double>(rng, 5, 6);
    const RowMatrix<double> c = random_matrix<double>(rng, 5, 4);

    layer.zero_grad();
    const RowMatrix<double> y = layer.forward(ccl::view(x));
    const RowMatrix<double> grad_y = c + y;
    RowMatrix<double> grad_x = RowMatrix<double>::Zero(5, 6);
    layer.backward(ccl::view(grad_y), ccl::mutable_view(grad_x));

    auto loss = [&] { return test_loss(layer.forward(ccl::view(x)), c); };
    // Tolerance: central differences with h = 1e-6 on a quadratic are exact up to rounding
    // (~1e-10 relative); 1e-7 leaves a wide margin while catching any wrong term.
    CHECK(ccl::testing::relative_error(grad_x, ccl::testing::numeric_gradient(x, loss)) < 1e-7);
    CHECK(ccl::testing::relative_error(layer.weight().grad,
                                       ccl::testing::numeric_gradient(layer.weight().value,
                                                                      loss)) < 1e-7);
    if (bias) {
      CHECK(ccl::testing::relative_error(layer.bias().grad,
                                         ccl::testing::numeric_gradient(layer.bias().value,
                                                                        loss)) < 1e-7);
    }
  }
}

TEST_CASE("Linear backward accumulates and can skip parameters", "[linear][gradient]") {
  ccl::Rng rng(3);
  ccl::nn::Linear<double> layer(3, 2, rng);
  const RowMatrix<double> x = random_matrix<double>(rng, 4, 3);
  const RowMatrix<double> g = random_matrix<double>(rng, 4, 2);
  layer.forward(ccl::view(x));

  layer.zero_grad();
  layer.backward(ccl::view(g));
  const RowMatrix<double> once_w = layer.weight().grad;
  const RowMatrix<double> once_b = layer.bias().grad;
  CHECK((once_w - g.transpose() * x).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((once_b - g.colwise().sum()).cwiseAbs().maxCoeff() < 1e-14);

  layer.backward(ccl::view(g));
  CHECK((layer.weight().grad - 2 * once_w).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((layer.bias().grad - 2 * once_b).cwiseAbs().maxCoeff() < 1e-14);

  // grad_x is added to, not overwritten; `skip` leaves the parameter gradients alone.
  RowMatrix<double> grad_x = RowMatrix<double>::Constant(4, 3, 1.0);
  layer.backward(ccl::view(g), ccl::mutable_view(grad_x), ccl::nn::ParameterGradients::skip);
  CHECK((grad_x - (RowMatrix<double>::Constant(4, 3, 1.0) + g * layer.weight().value))
            .cwiseAbs()
            .maxCoeff() < 1e-14);
  CHECK((layer.weight().grad - 2 * once_w).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("Linear default initialisation is U(-1/sqrt(in), 1/sqrt(in))", "[linear][init]") {
  const Index in = 64;
  const Index out = 256;
  ccl::Rng rng(2024);
  ccl::nn::Linear<double> layer(in, out, rng);
  const double bound = 1.0 / std::sqrt(double(in));
  const auto& w = layer.weight().value;
  CHECK(w.cwiseAbs().maxCoeff() < bound);
  CHECK(layer.bias().value.cwiseAbs().maxCoeff() < bound);
  // Uniform on [-a, a]: mean 0, variance a²/3. With n = 16384 samples the standard error of the
  // mean is a/sqrt(3n) ≈ 0.0045a and that of the variance ≈ 0.0066 a²/3 relative; 5 sigma bounds.
  const double n = double(w.size());
  const double mean = w.mean();
  const double variance = (w.array() - mean).square().sum() / n;
  CHECK(std::abs(mean) < 5 * bound / std::sqrt(3 * n));
  CHECK(std::abs(variance / (bound * bound / 3) - 1) < 0.04);
  // The extremes come close to the bound (not a narrower range by mistake).
  CHECK(w.cwiseAbs().maxCoeff() > 0.99 * bound);

  // The same seed gives the same parameters; float and double draw the same stream.
  ccl::Rng again(2024);
  ccl::nn::Linear<double> twin(in, out, again);
  CHECK(twin.weight().value == w);
  CHECK(twin.bias().value == layer.bias().value);
  ccl::Rng as_float(2024);
  ccl::nn::Linear<float> single(in, out, as_float);
  CHECK((single.weight().value.cast<double>() - w).cwiseAbs().maxCoeff() < 1e-7);

  // A layer built without an Rng starts at zero.
  ccl::nn::Linear<double> zero(3, 2);
  CHECK(zero.weight().value.isZero());
  CHECK(zero.bias().value.isZero());
}

TEST_CASE("Linear parameters are visited by name and can be set", "[linear]") {
  ccl::nn::Linear<double> layer(3, 2);
  std::vector<std::string> names;
  layer.for_each_parameter([&](ccl::Parameter<double>& p) { names.push_back(p.name); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});

  ccl::nn::Linear<double> no_bias(3, 2, false);
  names.clear();
  no_bias.for_each_parameter([&](const ccl::Parameter<double>& p) { names.push_back(p.name); });
  CHECK(names == std::vector<std::string>{"weight"});
  CHECK_FALSE(no_bias.has_bias());

  RowMatrix<double> w(2, 3);
  w << 1, 2, 3, 4, 5, 6;
  RowMatrix<double> b(1, 2);
  b << 0.5, -0.5;
  layer.set_weight(ccl::view(w));
  layer.set_bias(ccl::view(b));
  RowMatrix<double> x(1, 3);
  x << 1, 0, -1;
  const RowMatrix<double>& y = layer.forward(ccl::view(x));
  CHECK(y(0, 0) == Approx(-1.5));
  CHECK(y(0, 1) == Approx(-2.5));
  // A column vector is accepted for the bias as well.
  ccl::Vector<double> column(2);
  column << 1, 2;
  layer.set_bias(ccl::EmbeddingView<const double>(column.data(), 2, 1));
  CHECK(layer.bias().value(0, 1) == 2);
}

TEST_CASE("Linear rejects bad input with a clear error", "[linear][errors]") {
  using Catch::Matchers::Contains;
  ccl::Rng rng(5);
  ccl::nn::Linear<double> layer(3, 2, rng);
  const RowMatrix<double> wrong = RowMatrix<double>::Ones(4, 5);
  REQUIRE_THROWS_WITH(layer.forward(ccl::view(wrong)),
                      Contains("Linear::forward: x has shape [4, 5], expected [4, 3]"));
  const RowMatrix<double> empty(0, 3);
  REQUIRE_THROWS_WITH(layer.forward(ccl::view(empty)), Contains("empty batch"));
  RowMatrix<double> nan = RowMatrix<double>::Ones(2, 3);
  nan(1, 2) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(layer.forward(ccl::view(nan)), Contains("x[1, 2] = nan is not finite"));
  nan(1, 2) = std::numeric_limits<double>::infinity();
  REQUIRE_THROWS_AS(layer.forward(ccl::view(nan)), ccl::error);
  layer.set_check_finite(false);
  CHECK_NOTHROW(layer.forward(ccl::view(nan)));
  layer.set_check_finite(true);

  ccl::nn::Linear<double> fresh(3, 2, rng);
  const RowMatrix<double> g = RowMatrix<double>::Ones(2, 2);
  REQUIRE_THROWS_WITH(fresh.backward(ccl::view(g)), Contains("called before forward"));

  const RowMatrix<double> x = RowMatrix<double>::Ones(2, 3);
  layer.forward(ccl::view(x));
  const RowMatrix<double> bad_g = RowMatrix<double>::Ones(3, 2);
  REQUIRE_THROWS_WITH(layer.backward(ccl::view(bad_g)),
                      Contains("grad_y has shape [3, 2], expected [2, 2]"));
  RowMatrix<double> bad_gx = RowMatrix<double>::Zero(2, 4);
  REQUIRE_THROWS_WITH(layer.backward(ccl::view(g), ccl::mutable_view(bad_gx)),
                      Contains("grad_x has shape [2, 4], expected [2, 3]"));

  REQUIRE_THROWS_WITH(ccl::nn::Linear<double>(0, 2), Contains("feature sizes must be positive"));
  const RowMatrix<double> w_bad = RowMatrix<double>::Ones(3, 2);
  REQUIRE_THROWS_WITH(layer.set_weight(ccl::view(w_bad)),
                      Contains("got [3, 2], expected [2, 3]"));
  const RowMatrix<double> b_bad = RowMatrix<double>::Ones(1, 3);
  REQUIRE_THROWS_WITH(layer.set_bias(ccl::view(b_bad)), Contains("expected [1, 2]"));
  ccl::nn::Linear<double> no_bias(3, 2, false);
  const RowMatrix<double> b_ok = RowMatrix<double>::Ones(1, 2);
  REQUIRE_THROWS_WITH(no_bias.set_bias(ccl::view(b_ok)), Contains("without a bias"));
}
