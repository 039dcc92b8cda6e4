// nn::MaxPool / AvgPool / GlobalAvgPool: outputs against plain loops over PyTorch's definition,
// gradients against central differences, and bad input.

#include <ccl/nn/pooling.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <cmath>
#include <limits>

using ccl::Index;
using ccl::nn::AvgPool;
using ccl::nn::GlobalAvgPool;
using ccl::nn::MaxPool;
using ccl::nn::PoolOptions;
using ccl::nn::Shape;
using ccl::nn::Tensor;

namespace {

// The 2-D definition written out: out[n, c, i, j] = max / mean of x[n, c, i*s - p + a, j*s - p + b]
// over a < kh, b < kw, padded positions excluded from the max and (with count_include_pad)
// counted as zeros in the mean.
Tensor<double, 4> naive_pool2d(const Tensor<double, 4>& x, Index kh, Index kw, Index sh, Index sw,
                               Index ph, Index pw, bool max, bool count_include_pad) {
  const Index oh = (x.dim(2) + 2 * ph - kh) / sh + 1, ow = (x.dim(3) + 2 * pw - kw) / sw + 1;
  Tensor<double, 4> y({x.dim(0), x.dim(1), oh, ow});
  for (Index n = 0; n < x.dim(0); ++n)
    for (Index c = 0; c < x.dim(1); ++c)
      for (Index i = 0; i < oh; ++i)
        for (Index j = 0; j < ow; ++j) {
          double best = -HUGE_VAL, sum = 0;
          Index inside = 0;
          for (Index a = 0; a < kh; ++a)
            for (Index b = 0; b < kw; ++b) {
              const Index r = i * sh - ph + a, q = j * sw - pw + b;
              if (r < 0 || q < 0 || r >= x.dim(2) || q >= x.dim(3)) continue;
              best = std::max(best, x(n, c, r, q));
              sum += x(n, c, r, q);
              ++inside;
            }
          y(n, c, i, j) = max ? best : sum / double(count_include_pad ? kh * kw : inside);
        }
  return y;
}

}  // namespace

TEST_CASE("MaxPool2d and AvgPool2d match PyTorch's definition", "[nn][pooling]") {
  ccl::Rng rng(3);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<4>{2, 3, 7, 6});
  for (bool include_pad : {true, false}) {
    const auto options =
        PoolOptions<2>({3, 2}).stride({2, 1}).padding({1, 1}).count_include_pad(include_pad);
    MaxPool<double, 2> max_pool(options);
    AvgPool<double, 2> avg_pool(options);
    const auto& ym = max_pool.forward(x);
    const auto& ya = avg_pool.forward(x);
    CHECK(ccl::testing::max_abs_difference(
              ym, naive_pool2d(x, 3, 2, 2, 1, 1, 1, true, include_pad)) == 0);
    CHECK(ccl::testing::max_abs_difference(
              ya, naive_pool2d(x, 3, 2, 2, 1, 1, 1, false, include_pad)) < 1e-14);
  }
  // Stride defaults to the kernel, as in PyTorch.
  MaxPool<double, 2> pool2(2);
  CHECK(pool2.forward(x).shape() == Shape<4>{2, 3, 3, 3});
  CHECK(ccl::testing::max_abs_difference(pool2.output(),
                                         naive_pool2d(x, 2, 2, 2, 2, 0, 0, true, true)) == 0);
}

TEST_CASE("Pool1d and Pool3d agree with the 2-D definition on unit axes", "[nn][pooling]") {
  ccl::Rng rng(4);
  const auto x2 = ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 1, 9});
  const Tensor<double, 3> x1({2, 2, 9}, x2.data());
  const Tensor<double, 5> x3({2, 2, 1, 1, 9}, x2.data());
  MaxPool<double, 1> m1(PoolOptions<1>(3).stride(2).padding(1));
  AvgPool<double, 3> a3(PoolOptions<3>({1, 1, 3}).stride({1, 1, 2}).padding({0, 0, 1}));
  const auto ref_max = naive_pool2d(x2, 1, 3, 1, 2, 0, 1, true, true);
  const auto ref_avg = naive_pool2d(x2, 1, 3, 1, 2, 0, 1, false, true);
  const auto& y1 = m1.forward(x1);
  const auto& y3 = a3.forward(x3);
  REQUIRE(y1.size() == ref_max.size());
  REQUIRE(y3.size() == ref_avg.size());
  CHECK((y1.flat() - ref_max.flat()).cwiseAbs().maxCoeff() == 0);
  CHECK((y3.flat() - ref_avg.flat()).cwiseAbs().maxCoeff() < 1e-14);
  // A genuinely 3-D window: the mean of a 2x2x2 block.
  const auto v = ccl::testing::random_tensor<double>(rng, Shape<5>{1, 1, 2, 2, 2});
  AvgPool<double, 3> cube(2);
  CHECK(cube.forward(v).flat()(0) == Approx(v.flat().mean()).epsilon(1e-14));
  MaxPool<double, 3> cube_max(2);
  CHECK(cube_max.forward(v).flat()(0) == v.flat().maxCoeff());
}

TEST_CASE("MaxPool propagates NaN like PyTorch", "[nn][pooling]") {
  Tensor<float, 3> x({1, 1, 4}, 1.f);
  x(0, 0, 1) = std::numeric_limits<float>::quiet_NaN();
  MaxPool<float, 1> pool(2);
  const auto& y = pool.forward(x);
  CHECK(std::isnan(y(0, 0, 0)));
  CHECK(y(0, 0, 1) == 1.f);
}

TEST_CASE("GlobalAvgPool averages every spatial position", "[nn][pooling]") {
  ccl::Rng rng(5);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<5>{2, 3, 2, 3, 2});
  GlobalAvgPool<double, 3> pool;
  const auto& y = pool.forward(x);
  REQUIRE(y.shape() == Shape<2>{2, 3});
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c) {
      double sum = 0;
      for (Index t = 0; t < 2; ++t)
        for (Index h = 0; h < 3; ++h)
          for (Index w = 0; w < 2; ++w) sum += x(n, c, t, h, w);
      CHECK(y(n, c) == Approx(sum / 12).epsilon(1e-14));
    }
}

TEST_CASE("Pooling gradients match central differences", "[nn][pooling][gradient]") {
  ccl::Rng rng(6);
  const double tolerance = 1e-8;
  SECTION("MaxPool2d, overlapping padded windows") {
    MaxPool<double, 2> pool(PoolOptions<2>(3).stride(2).padding(1));
    const auto e = ccl::testing::check_gradients(
        pool, ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 5, 4}), rng);
    CHECK(e.input < tolerance);
  }
  SECTION("AvgPool3d with and without count_include_pad") {
    for (bool include_pad : {true, false}) {
      AvgPool<double, 3> pool(
          PoolOptions<3>({2, 3, 2}).stride({1, 2, 2}).padding({1, 1, 0}).count_include_pad(
              include_pad));
      const auto e = ccl::testing::check_gradients(
          pool, ccl::testing::random_tensor<double>(rng, Shape<5>{1, 2, 3, 5, 4}), rng);
      CHECK(e.input < tolerance);
    }
  }
  SECTION("MaxPool1d and GlobalAvgPool1d") {
    MaxPool<double, 1> pool(PoolOptions<1>(2));
    auto e = ccl::testing::check_gradients(
        pool, ccl::testing::random_tensor<double>(rng, Shape<3>{2, 3, 7}), rng);
    CHECK(e.input < tolerance);
    GlobalAvgPool<double, 1> global;
    e = ccl::testing::check_gradients(
        global, ccl::testing::random_tensor<double>(rng, Shape<3>{2, 3, 5}), rng);
    CHECK(e.input < tolerance);
  }
}

TEST_CASE("Pooling rejects bad input with clear errors", "[nn][pooling][errors]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH((MaxPool<float, 2>(PoolOptions<2>(2).padding(2))),
                      Contains("MaxPool2d: padding [2, 2] must be at most half the kernel [2, 2]"));
  REQUIRE_THROWS_WITH((AvgPool<float, 1>(PoolOptions<1>(0))), Contains("AvgPool1d: kernel [0]"));
  MaxPool<float, 3> pool(PoolOptions<3>({2, 3, 3}));
  REQUIRE_THROWS_WITH(pool.forward(Tensor<float, 5>({1, 2, 1, 8, 8})),
                      Contains("MaxPool3d: kernel 2") && Contains("larger than the padded input"));
  REQUIRE_THROWS_WITH(pool.forward(Tensor<float, 5>({1, 0, 2, 8, 8})), Contains("empty"));
  REQUIRE_THROWS_WITH(pool.backward(Tensor<float, 5>({1, 2, 1, 2, 2})),
                      Contains("called before forward"));
  pool.forward(Tensor<float, 5>({1, 2, 2, 6, 6}));
  REQUIRE_THROWS_WITH(pool.backward(Tensor<float, 5>({1, 2, 1, 2, 3})),
                      Contains("grad_y has shape [1, 2, 1, 2, 3], expected [1, 2, 1, 2, 2]"));
}

TEST_CASE("Pooling its own output again is safe", "[nn][pooling]") {
  ccl::Rng rng(7);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<4>{1, 2, 8, 8});
  MaxPool<double, 2> pool(2), twin(2);
  const Tensor<double, 4> expected = twin.forward(Tensor<double, 4>(twin.forward(x)));
  pool.forward(x);
  CHECK(ccl::testing::max_abs_difference(pool.forward(pool.output()), expected) == 0);
}
