// nn::BatchNorm: train/eval outputs and running statistics against plain loops written from
// PyTorch's definition, gradients against central differences in both modes, and bad input.

#include <ccl/nn/batch_norm.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <cmath>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::nn::BatchNorm;
using ccl::nn::BatchNormOptions;
using ccl::nn::Shape;
using ccl::nn::Tensor;

namespace {

struct Reference {
  std::vector<double> y;
  std::vector<double> mean, biased_var, unbiased_var;
};

// Normalises channel c over all (n, position) with plain loops; `training` picks the batch or the
// given running statistics.
template <class Scalar, int Rank>
Reference naive_batch_norm(const Tensor<Scalar, Rank>& x, const std::vector<double>& gamma,
                           const std::vector<double>& beta, bool training,
                           const std::vector<double>& run_mean, const std::vector<double>& run_var,
                           double eps = 1e-5) {
  const Index n_count = x.dim(0), c_count = x.dim(1), p_count = x.size() / (n_count * c_count);
  Reference r;
  r.y.resize(std::size_t(x.size()));
  for (Index c = 0; c < c_count; ++c) {
    double sum = 0;
    for (Index n = 0; n < n_count; ++n)
      for (Index p = 0; p < p_count; ++p) sum += double(x.data()[(n * c_count + c) * p_count + p]);
    const double m = double(n_count * p_count), mean = sum / m;
    double sq = 0;
    for (Index n = 0; n < n_count; ++n)
      for (Index p = 0; p < p_count; ++p) {
        const double d = double(x.data()[(n * c_count + c) * p_count + p]) - mean;
        sq += d * d;
      }
    r.mean.push_back(mean);
    r.biased_var.push_back(sq / m);
    r.unbiased_var.push_back(sq / (m - 1));
    const double use_mean = training ? mean : run_mean[std::size_t(c)];
    const double use_var = training ? sq / m : run_var[std::size_t(c)];
    for (Index n = 0; n < n_count; ++n)
      for (Index p = 0; p < p_count; ++p) {
        const Index i = (n * c_count + c) * p_count + p;
        r.y[std::size_t(i)] =
            gamma[std::size_t(c)] * (double(x.data()[i]) - use_mean) / std::sqrt(use_var + eps) +
            beta[std::size_t(c)];
      }
  }
  return r;
}

template <class Scalar, int SpatialRank>
void check_against_reference(const Shape<SpatialRank + 2>& shape) {
  ccl::Rng rng(17);
  const Index c_count = shape[1];
  BatchNorm<Scalar, SpatialRank> bn(c_count);
  std::vector<double> gamma, beta;
  for (Index c = 0; c < c_count; ++c) {
    bn.weight().value(0, c) = Scalar(rng.uniform(0.5, 1.5));
    bn.bias().value(0, c) = Scalar(rng.uniform(-0.5, 0.5));
    gamma.push_back(double(bn.weight().value(0, c)));
    beta.push_back(double(bn.bias().value(0, c)));
  }
  const double tolerance = std::is_same_v<Scalar, float> ? 2e-5 : 1e-12;
  // Two training steps (offset data, so the running statistics move visibly), then eval.
  std::vector<double> run_mean(std::size_t(c_count), 0.0), run_var(std::size_t(c_count), 1.0);
  for (int step = 0; step < 2; ++step) {
    const auto x = ccl::testing::random_tensor<Scalar>(rng, shape, 2.0, 5.0);
    const auto& y = bn.forward(x);
    const Reference r = naive_batch_norm(x, gamma, beta, true, run_mean, run_var);
    double diff = 0;
    for (Index i = 0; i < y.size(); ++i)
      diff = std::max(diff, std::abs(double(y.data()[i]) - r.y[std::size_t(i)]));
    CHECK(diff < tolerance);
    for (std::size_t c = 0; c < std::size_t(c_count); ++c) {
      run_mean[c] = 0.9 * run_mean[c] + 0.1 * r.mean[c];
      run_var[c] = 0.9 * run_var[c] + 0.1 * r.unbiased_var[c];  // unbiased, as PyTorch
      CHECK(double(bn.running_mean()(0, Index(c))) == Approx(run_mean[c]).epsilon(tolerance));
      CHECK(double(bn.running_var()(0, Index(c))) == Approx(run_var[c]).epsilon(tolerance));
    }
  }
  bn.eval();
  const auto x = ccl::testing::random_tensor<Scalar>(rng, shape, 2.0, 5.0);
  const auto saved_mean = bn.running_mean();
  const auto& y = bn.forward(x);
  CHECK(bn.running_mean() == saved_mean);  // eval never updates the statistics
  const Reference r = naive_batch_norm(x, gamma, beta, false, run_mean, run_var);
  double diff = 0;
  for (Index i = 0; i < y.size(); ++i)
    diff = std::max(diff, std::abs(double(y.data()[i]) - r.y[std::size_t(i)]));
  CHECK(diff < tolerance);
}

}  // namespace

TEMPLATE_TEST_CASE("BatchNorm matches PyTorch's definition in train and eval mode",
                   "[nn][batch_norm]", float, double) {
  check_against_reference<TestType, 0>({5, 3});
  check_against_reference<TestType, 1>({2, 3, 5});
  check_against_reference<TestType, 2>({2, 2, 3, 4});
  check_against_reference<TestType, 3>({2, 3, 2, 3, 2});
}

TEST_CASE("BatchNorm gradients match central differences", "[nn][batch_norm][gradient]") {
  ccl::Rng rng(23);
  // x̂ is a smooth function of x; central differences lose ~1e-9 to rounding in the variance.
  const double tolerance = 1e-7;
  for (bool training : {true, false}) {
    for (bool affine : {true, false}) {
      CAPTURE(training, affine);
      BatchNorm<double, 2> bn(BatchNormOptions(3).affine(affine));
      if (affine) {
        rng.fill_uniform(bn.weight().value, 0.5, 1.5);
        rng.fill_uniform(bn.bias().value, -0.5, 0.5);
      }
      rng.fill_uniform(bn.running_mean(), -0.3, 0.3);
      rng.fill_uniform(bn.running_var(), 0.5, 1.5);
      bn.train(training);
      const auto e = ccl::testing::check_gradients(
          bn, ccl::testing::random_tensor<double>(rng, Shape<4>{2, 3, 2, 3}), rng);
      CHECK(e.input < tolerance);
      CHECK(e.parameter < tolerance);
    }
  }
  SECTION("BatchNorm3d and BatchNorm1d on [N, C]") {
    BatchNorm<double, 3> bn3(2);
    auto e = ccl::testing::check_gradients(
        bn3, ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 2, 2, 2}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
    BatchNorm<double, 0> bn0(4);
    e = ccl::testing::check_gradients(bn0, ccl::testing::random_tensor<double>(rng, Shape<2>{3, 4}),
                                      rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
}

TEST_CASE("BatchNorm parameters, buffers and defaults follow PyTorch", "[nn][batch_norm]") {
  BatchNorm<float, 2> bn(4);
  CHECK(bn.is_training());
  CHECK(bn.options().eps() == 1e-5);
  CHECK(bn.options().momentum() == 0.1);
  CHECK(bn.weight().value.isOnes(0));
  CHECK(bn.bias().value.isZero(0));
  CHECK(bn.running_mean().isZero(0));
  CHECK(bn.running_var().isOnes(0));
  std::vector<std::string> names;
  bn.for_each_parameter([&](ccl::Parameter<float>& p) { names.push_back(p.name); });
  bn.for_each_buffer(
      [&](const std::string& name, ccl::RowMatrix<float>&) { names.push_back(name); });
  CHECK(names == std::vector<std::string>{"weight", "bias", "running_mean", "running_var"});
  BatchNorm<float, 2> plain(BatchNormOptions(4).affine(false));
  int count = 0;
  plain.for_each_parameter([&](ccl::Parameter<float>&) { ++count; });
  CHECK(count == 0);
}

TEST_CASE("BatchNorm rejects bad input with clear errors", "[nn][batch_norm][errors]") {
  using Catch::Matchers::Contains;
  BatchNorm<float, 2> bn(3);
  REQUIRE_THROWS_WITH(bn.forward(Tensor<float, 4>({2, 4, 2, 2})),
                      Contains("BatchNorm2d: input has 4 channels") && Contains("expected 3"));
  REQUIRE_THROWS_WITH(bn.forward(Tensor<float, 4>({1, 3, 1, 1})),
                      Contains("more than 1 value per channel when training"));
  bn.eval();
  REQUIRE_NOTHROW(bn.forward(Tensor<float, 4>({1, 3, 1, 1})));  // fine with running statistics
  bn.train();
  Tensor<float, 4> x({2, 3, 2, 2});
  x(1, 2, 0, 1) = std::nanf("");
  REQUIRE_THROWS_WITH(bn.forward(x), Contains("BatchNorm2d: channel 2") && Contains("non-finite"));
  CHECK(bn.running_mean().isZero(0));  // nothing was updated, not even the finite channels
  CHECK(bn.running_var().isOnes(0));
  REQUIRE_THROWS_AS((BatchNorm<float, 2>(BatchNormOptions(3).momentum(1.5))), ccl::error);
  REQUIRE_THROWS_AS((BatchNorm<float, 2>(0)), ccl::error);
  BatchNorm<float, 2> fresh(3);
  REQUIRE_THROWS_WITH(fresh.backward(Tensor<float, 4>({2, 3, 2, 2})),
                      Contains("called before forward"));
}
