// nn::ConvNd<1|2|3>: forward against a direct nested-loop convolution (no im2col), gradients
// against central differences in double, PyTorch-default initialisation bounds, and bad input.

#include <ccl/nn/conv.hpp>
#include <ccl/nn/layer.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <array>
#include <cmath>
#include <type_traits>
#include <utility>

using ccl::Index;
using ccl::nn::ConvNd;
using ccl::nn::ConvOptions;
using ccl::nn::Shape;
using ccl::nn::Tensor;

namespace {

// Lifts [N, C, spatial...] to [N, C, T, H, W] with unit axes in front of the spatial ones.
template <class Scalar, int Rank>
Tensor<double, 5> lift(const Tensor<Scalar, Rank>& x) {
  Shape<5> shape{x.dim(0), x.dim(1), 1, 1, 1};
  for (int i = 2; i < Rank; ++i) shape[std::size_t(5 - Rank + i)] = x.dim(i);
  Tensor<double, 5> out(shape);
  for (Index i = 0; i < x.size(); ++i) out.data()[i] = double(x.data()[i]);
  return out;
}

template <int Rank>
std::array<Index, 3> lift3(const Shape<Rank>& s, Index fill) {
  std::array<Index, 3> out{fill, fill, fill};
  for (int i = 0; i < Rank; ++i) out[std::size_t(3 - Rank + i)] = s[std::size_t(i)];
  return out;
}

// y[n, o, t, h, w] = b[o] + Σ_{c, a, b, e} x[n, c, t·st − pt + a·dt, ...] · W[o, c, a, b, e],
// taps that fall into the zero padding skipped. Returns the lifted 5-D output.
template <class Scalar, int Rank>
Tensor<double, 5> naive_conv(const ConvNd<Scalar, Rank>& conv, const Tensor<Scalar, Rank + 2>& x) {
  const auto& o = conv.options();
  const Tensor<double, 5> in = lift(x);
  const auto k = lift3<Rank>(o.kernel(), 1), s = lift3<Rank>(o.stride(), 1),
             p = lift3<Rank>(o.padding(), 0), d = lift3<Rank>(o.dilation(), 1);
  std::array<Index, 3> out{};
  for (std::size_t i = 0; i < 3; ++i)
    out[i] = (in.dim(int(i) + 2) + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i] + 1;
  const Index cin = o.in_channels(), cout = o.out_channels();
  Tensor<double, 5> y({in.dim(0), cout, out[0], out[1], out[2]});
  const auto& w = conv.weight().value;
  for (Index n = 0; n < in.dim(0); ++n)
    for (Index oc = 0; oc < cout; ++oc)
      for (Index t = 0; t < out[0]; ++t)
        for (Index h = 0; h < out[1]; ++h)
          for (Index v = 0; v < out[2]; ++v) {
            double sum = conv.has_bias() ? double(conv.bias().value(0, oc)) : 0.0;
            for (Index c = 0; c < cin; ++c)
              for (Index a = 0; a < k[0]; ++a)
                for (Index b = 0; b < k[1]; ++b)
                  for (Index e = 0; e < k[2]; ++e) {
                    const Index it = t * s[0] - p[0] + a * d[0];
                    const Index ih = h * s[1] - p[1] + b * d[1];
                    const Index iw = v * s[2] - p[2] + e * d[2];
                    if (it < 0 || ih < 0 || iw < 0 || it >= in.dim(2) || ih >= in.dim(3) ||
                        iw >= in.dim(4))
                      continue;
                    const Index tap = ((c * k[0] + a) * k[1] + b) * k[2] + e;
                    sum += in(n, c, it, ih, iw) * double(w(oc, tap));
                  }
            y(n, oc, t, h, v) = sum;
          }
  return y;
}

template <class Scalar, int Rank>
void check_forward(const ConvOptions<Rank>& options, const Shape<Rank + 2>& input_shape,
                   Index workspace_limit = Index(1) << 24) {
  ccl::Rng rng(11);
  ConvNd<Scalar, Rank> conv(options, rng);
  conv.set_workspace_limit(workspace_limit);
  const auto x = ccl::testing::random_tensor<Scalar>(rng, input_shape);
  const auto& y = conv.forward(x);
  REQUIRE(y.shape() == conv.output_shape(x.shape()));
  const Tensor<double, 5> expected = naive_conv(conv, x);
  const double tolerance = std::is_same_v<Scalar, float> ? 2e-5 : 1e-12;
  CHECK(ccl::testing::max_abs_difference(lift(y), expected) < tolerance);
}

}  // namespace

TEMPLATE_TEST_CASE("Conv1d forward matches a direct loop", "[nn][conv]", float, double) {
  check_forward<TestType, 1>(ConvOptions<1>(3, 4, 3), {2, 3, 9});
  check_forward<TestType, 1>(ConvOptions<1>(2, 5, 3).stride(2).padding(1).dilation(2), {3, 2, 11});
  check_forward<TestType, 1>(ConvOptions<1>(4, 3, 1).bias(false), {2, 4, 7});  // pointwise path
}

TEMPLATE_TEST_CASE("Conv2d forward matches a direct loop", "[nn][conv]", float, double) {
  check_forward<TestType, 2>(ConvOptions<2>(3, 4, 3).padding(1), {2, 3, 6, 5});
  check_forward<TestType, 2>(ConvOptions<2>(2, 3, {3, 2}).stride({2, 1}).padding({1, 0}),
                             {2, 2, 7, 6});
  check_forward<TestType, 2>(ConvOptions<2>(2, 3, 7).stride(2).padding(3).bias(false),
                             {1, 2, 9, 9});
}

TEMPLATE_TEST_CASE("Conv3d forward matches a direct loop", "[nn][conv]", float, double) {
  check_forward<TestType, 3>(ConvOptions<3>(2, 3, {3, 2, 2}).stride({1, 2, 2}).padding({1, 0, 1}),
                             {2, 2, 4, 5, 5});
  // The two halves of the (2+1)D factorisation (method.md §3.1).
  check_forward<TestType, 3>(ConvOptions<3>(3, 4, {1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}),
                             {2, 3, 3, 6, 6});
  check_forward<TestType, 3>(ConvOptions<3>(3, 4, {3, 1, 1}).stride({2, 1, 1}).padding({1, 0, 0}),
                             {2, 3, 5, 3, 3});
}

TEST_CASE("Conv batches im2col over samples in chunks that respect the workspace limit",
          "[nn][conv]") {
  // 3 * 9 rows x 16 columns per sample: a limit of 1000 gives chunks of 2 samples, then 1.
  check_forward<double, 2>(ConvOptions<2>(3, 2, 3).padding(1), {5, 3, 4, 4}, 1000);
  check_forward<double, 2>(ConvOptions<2>(3, 2, 3).padding(1), {5, 3, 4, 4}, 1);
  check_forward<double, 2>(ConvOptions<2>(3, 2, 3).padding(1), {5, 3, 4, 4});
}

TEST_CASE("Conv gradients match central differences", "[nn][conv][gradient]") {
  ccl::Rng rng(5);
  // Convolution is bilinear in (x, W), so central differences are exact up to rounding.
  const double tolerance = 1e-8;
  SECTION("Conv1d, stride 2, padding 1, dilation 2, bias") {
    ConvNd<double, 1> conv(ConvOptions<1>(2, 3, 3).stride(2).padding(1).dilation(2), rng);
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<3>{2, 2, 9}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
  SECTION("Conv2d, rectangular kernel and stride, chunked") {
    ConvNd<double, 2> conv(ConvOptions<2>(2, 3, {3, 2}).stride({2, 1}).padding({1, 1}), rng);
    conv.set_workspace_limit(200);  // 12 rows x 20 columns per sample: one sample per chunk
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<4>{3, 2, 5, 4}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
  SECTION("Conv3d, no bias, batched chunk") {
    ConvNd<double, 3> conv(
        ConvOptions<3>(2, 2, {2, 3, 2}).stride({1, 2, 1}).padding({1, 1, 0}).bias(false), rng);
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 3, 4, 3}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
  SECTION("Conv3d temporal (3x1x1): whole planes copied and added back") {
    ConvNd<double, 3> conv(ConvOptions<3>(2, 3, {3, 1, 1}).stride({2, 1, 1}).padding({1, 0, 0}),
                           rng);
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<5>{3, 2, 5, 3, 4}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
  SECTION("Conv3d in blocks of output time steps (a clip over the workspace limit)") {
    // 2·(2·3·3·3) column rows x 3·3 positions per time step: a limit of 200 gives 1-step blocks
    // whose input planes overlap (temporal kernel 3, padding 1), on each thread's own samples.
    ConvNd<double, 3> conv(ConvOptions<3>(2, 3, 3).padding(1), rng);
    conv.set_workspace_limit(200);
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<5>{4, 2, 4, 3, 3}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
  SECTION("Conv3d pointwise (1x1x1)") {
    ConvNd<double, 3> conv(ConvOptions<3>(3, 2, 1), rng);
    const auto e = ccl::testing::check_gradients(
        conv, ccl::testing::random_tensor<double>(rng, Shape<5>{2, 3, 2, 2, 3}), rng);
    CHECK(e.input < tolerance);
    CHECK(e.parameter < tolerance);
  }
}

TEST_CASE("Conv backward accumulates and can skip parameters or the input", "[nn][conv]") {
  ccl::Rng rng(3);
  ConvNd<double, 2> conv(ConvOptions<2>(2, 2, 3).padding(1), rng);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 4, 4});
  const auto g = ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 4, 4});
  conv.forward(x);
  Tensor<double, 4> dx(x.shape());
  conv.backward(g, &dx);
  const ccl::RowMatrix<double> dw = conv.weight().grad;
  const Tensor<double, 4> dx1 = dx;
  conv.backward(g, &dx);
  CHECK((conv.weight().grad - 2 * dw).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((dx.flat() - 2 * dx1.flat()).cwiseAbs().maxCoeff() < 1e-12);
  conv.zero_grad();
  conv.backward(g, &dx, ccl::nn::ParameterGradients::skip);
  CHECK(conv.weight().grad.isZero(0));
  CHECK(conv.bias().grad.isZero(0));
  conv.backward(g);  // parameters only
  CHECK((conv.weight().grad - dw).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Conv uses PyTorch's default initialisation bounds", "[nn][conv][init]") {
  ccl::Rng rng(1);
  ConvNd<double, 3> conv(ConvOptions<3>(4, 16, {3, 3, 3}), rng);
  const double bound = 1.0 / std::sqrt(4.0 * 27.0);  // kaiming_uniform(a = √5) = 1/√fan_in
  const auto& w = conv.weight().value;
  REQUIRE(w.rows() == 16);
  REQUIRE(w.cols() == 4 * 27);
  CHECK(w.cwiseAbs().maxCoeff() <= bound);
  CHECK(w.cwiseAbs().maxCoeff() > 0.95 * bound);  // the whole range is used
  CHECK(std::abs(w.mean()) < 0.1 * bound);
  CHECK(conv.bias().value.cwiseAbs().maxCoeff() <= bound);
  CHECK(ccl::nn::init::kaiming_uniform_bound(108) == Approx(bound).epsilon(1e-14));
  // The same seed gives the same weights.
  ccl::Rng again(1);
  ConvNd<double, 3> twin(ConvOptions<3>(4, 16, {3, 3, 3}), again);
  CHECK(twin.weight().value == w);
}

TEST_CASE("Conv rejects bad input with clear errors", "[nn][conv][errors]") {
  ccl::Rng rng(2);
  ConvNd<float, 2> conv(ConvOptions<2>(3, 4, 3), rng);
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(conv.forward(Tensor<float, 4>({2, 4, 8, 8})),
                      Contains("Conv2d: input has 4 channels") && Contains("[2, 4, 8, 8]") &&
                          Contains("expected 3"));
  REQUIRE_THROWS_WITH(conv.forward(Tensor<float, 4>({2, 3, 2, 8})),
                      Contains("Conv2d: kernel 3") && Contains("larger than the padded input"));
  REQUIRE_THROWS_WITH(conv.forward(Tensor<float, 4>({0, 3, 8, 8})), Contains("empty"));
  Tensor<float, 4> x({1, 3, 4, 4});
  x(0, 2, 1, 3) = std::nanf("");
  REQUIRE_THROWS_WITH(conv.forward(x), Contains("Conv2d: input") && Contains("non-finite"));
  REQUIRE_THROWS_WITH(conv.backward(Tensor<float, 4>({1, 4, 2, 2})),
                      Contains("called before forward"));
  conv.forward(Tensor<float, 4>({1, 3, 4, 4}));
  REQUIRE_THROWS_WITH(conv.backward(Tensor<float, 4>({1, 4, 3, 2})),
                      Contains("grad_y has shape [1, 4, 3, 2], expected [1, 4, 2, 2]"));
  Tensor<float, 4> wrong_dx({1, 3, 4, 5});
  REQUIRE_THROWS_WITH(conv.backward(Tensor<float, 4>({1, 4, 2, 2}), &wrong_dx),
                      Contains("grad_x has shape"));
  REQUIRE_THROWS_AS((ConvNd<float, 1>(ConvOptions<1>(0, 4, 3))), ccl::error);
  REQUIRE_THROWS_AS((ConvNd<float, 1>(ConvOptions<1>(2, 4, 3).stride(0))), ccl::error);
}

namespace {
template <class Layer, class X, class = void>
struct accepts : std::false_type {};
template <class Layer, class X>
struct accepts<Layer, X,
               std::void_t<decltype(std::declval<Layer&>().forward(std::declval<const X&>()))>>
    : std::true_type {};
}  // namespace

// A tensor of the wrong rank or scalar type is a compile error, not a runtime one.
static_assert(accepts<ccl::nn::Conv3d<float>, Tensor<float, 5>>::value);
static_assert(!accepts<ccl::nn::Conv3d<float>, Tensor<float, 4>>::value);
static_assert(!accepts<ccl::nn::Conv3d<float>, Tensor<double, 5>>::value);
static_assert(!accepts<ccl::nn::Conv1d<double>, Tensor<double, 4>>::value);
static_assert(ccl::nn::is_layer_v<ccl::nn::Conv2d<float>>);

TEST_CASE("A layer applied to its own output (shared weights) reads a stable copy", "[nn][conv]") {
  ccl::Rng rng(13);
  ConvNd<double, 1> conv(ConvOptions<1>(2, 2, 3), rng);
  ConvNd<double, 1> twin = conv;
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<3>{2, 2, 9});
  const Tensor<double, 3> once = twin.forward(x);
  const Tensor<double, 3> expected = twin.forward(once);  // [2, 2, 5]
  conv.forward(x);
  const auto& twice = conv.forward(conv.output());  // the output shrinks from 7 to 5 positions
  CHECK(ccl::testing::max_abs_difference(twice, expected) == 0);
}
