// nn::ReLU, nn::Dropout and nn::Flatten: forward against element-wise definitions, gradients
// against central differences, dropout statistics and seeding, and bad input.

#include <ccl/nn/dropout.hpp>
#include <ccl/nn/flatten.hpp>
#include <ccl/nn/relu.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <cmath>

using ccl::Index;
using ccl::nn::Dropout;
using ccl::nn::Flatten;
using ccl::nn::ReLU;
using ccl::nn::Shape;
using ccl::nn::Tensor;

namespace {
// Uniform values with |x| >= 0.1, so a finite-difference step never crosses ReLU's kink.
Tensor<double, 4> away_from_zero(ccl::Rng& rng, const Shape<4>& shape) {
  auto x = ccl::testing::random_tensor<double>(rng, shape, 0.1, 1.0);
  for (Index i = 0; i < x.size(); ++i)
    if (rng.uniform() < 0.5) x.data()[i] = -x.data()[i];
  return x;
}
}  // namespace

TEST_CASE("ReLU is max(x, 0) with derivative 0 at and below zero", "[nn][activation]") {
  Tensor<float, 2> x({1, 4});
  x(0, 0) = -1.f;
  x(0, 1) = 0.f;
  x(0, 2) = 2.f;
  x(0, 3) = -0.f;
  ReLU<float, 2> relu;
  const auto& y = relu.forward(x);
  CHECK(y(0, 0) == 0.f);
  CHECK(y(0, 1) == 0.f);
  CHECK(y(0, 2) == 2.f);
  Tensor<float, 2> dx({1, 4});
  relu.backward(Tensor<float, 2>({1, 4}, 1.f), &dx);
  CHECK(dx(0, 0) == 0.f);
  CHECK(dx(0, 1) == 0.f);  // PyTorch's convention at 0
  CHECK(dx(0, 2) == 1.f);
  ccl::Rng rng(1);
  ReLU<double, 4> relu4;
  const auto e = ccl::testing::check_gradients(relu4, away_from_zero(rng, {2, 3, 2, 2}), rng);
  CHECK(e.input < 1e-9);
}

TEST_CASE("Dropout zeroes with probability p and scales survivors by 1/(1-p)", "[nn][activation]") {
  const double p = 0.3;
  Dropout<double, 2> dropout(p, /*seed=*/9);
  const Tensor<double, 2> x({200, 100}, 1.0);
  const auto& y = dropout.forward(x);
  Index zeros = 0, wrongly_scaled = 0;
  for (Index i = 0; i < y.size(); ++i) {
    if (y.data()[i] == 0) {
      ++zeros;
    } else if (std::abs(y.data()[i] - 1 / (1 - p)) > 1e-15) {
      ++wrongly_scaled;
    }
  }
  CHECK(wrongly_scaled == 0);
  // 20000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.0032.
  CHECK(std::abs(double(zeros) / double(y.size()) - p) < 0.015);
  CHECK(std::abs(y.flat().mean() - 1.0) < 0.03);  // inverted scaling keeps the mean

  // The same seed gives the same mask; eval mode is the identity.
  Dropout<double, 2> twin(p, 9);
  CHECK(twin.forward(x).flat() == y.flat());
  twin.eval();
  CHECK(twin.forward(x).flat() == x.flat());
  Tensor<double, 2> dx({200, 100});
  twin.backward(Tensor<double, 2>({200, 100}, 2.0), &dx);
  CHECK(dx.flat().isConstant(2.0, 0));

  // p = 1 drops everything and stays finite; p = 0 is the identity.
  Dropout<double, 2> all(1.0, 1), none(0.0, 1);
  CHECK(all.forward(x).flat().isZero(0));
  CHECK(none.forward(x).flat() == x.flat());
}

TEST_CASE("Dropout gradients match central differences with the mask held fixed",
          "[nn][activation][gradient]") {
  ccl::Rng rng(2);
  Dropout<double, 5> dropout(0.4, 0);
  const auto e = ccl::testing::check_gradients(
      dropout, ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 2, 2, 2}), rng, 1e-6,
      [&] { dropout.rng() = ccl::Rng(77); });
  CHECK(e.input < 1e-9);
}

TEST_CASE("Flatten keeps C order and restores the shape in backward", "[nn][activation]") {
  ccl::Rng rng(3);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<5>{2, 3, 2, 2, 1});
  Flatten<double, 5> flatten;
  const auto& y = flatten.forward(x);
  REQUIRE(y.shape() == Shape<2>{2, 12});
  CHECK(y(1, 5) == x(1, 1, 0, 1, 0));
  const auto e = ccl::testing::check_gradients(flatten, x, rng);
  CHECK(e.input < 1e-9);
}

TEST_CASE("Activations reject bad input with clear errors", "[nn][activation][errors]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH((Dropout<float, 2>(1.5)), Contains("Dropout: the drop probability"));
  ReLU<float, 3> relu;
  REQUIRE_THROWS_WITH(relu.backward(Tensor<float, 3>({1, 1, 1})),
                      Contains("called before forward"));
  relu.forward(Tensor<float, 3>({1, 2, 3}));
  Tensor<float, 3> dx({1, 3, 2});
  REQUIRE_THROWS_WITH(relu.backward(Tensor<float, 3>({1, 2, 3}), &dx),
                      Contains("ReLU: grad_x has shape [1, 3, 2], expected [1, 2, 3]"));
  Flatten<float, 4> flatten;
  flatten.forward(Tensor<float, 4>({2, 3, 2, 2}));
  REQUIRE_THROWS_WITH(flatten.backward(Tensor<float, 2>({2, 11})),
                      Contains("Flatten: grad_y has shape [2, 11], expected [2, 12]"));
}
