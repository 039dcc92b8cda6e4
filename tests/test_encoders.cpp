// The modality encoders: the official R(2+1)D's exact parameter count (method.md §3.1), output
// shapes, end-to-end gradients against finite differences in double, and bad input.

#include <ccl/core/rng.hpp>
#include <ccl/nn/encoders/conv_stack.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using ccl::Index;
namespace enc = ccl::nn::encoders;

namespace {

template <class Net>
Index parameter_count(Net& net) {
  Index count = 0;
  net.for_each_parameter([&](auto& p) { count += p.value.size(); });
  return count;
}

template <class Scalar, int Rank>
ccl::nn::Tensor<Scalar, Rank> random_tensor(const ccl::nn::Shape<Rank>& shape, ccl::Rng& rng) {
  ccl::nn::Tensor<Scalar, Rank> t(shape);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = Scalar(rng.normal());
  return t;
}

// L = Σ w ⊙ net(x) for fixed random w; checks dL/dθ for a sample of parameter elements.
template <class Net, class Input>
double gradient_error(Net& net, const Input& x, ccl::Rng& rng) {
  const auto& y0 = net.forward(x);
  ccl::RowMatrix<double> w(y0.shape()[0], y0.shape()[1]);
  rng.fill_normal(w);
  auto loss = [&] {
    const auto& y = net.forward(x);
    return (y.matrix().array() * w.array()).sum();
  };
  net.zero_grad();
  auto y = net.forward(x);
  typename Net::Output grad(y.shape());
  grad.matrix() = w;
  net.backward(grad);
  double worst = 0;
  net.for_each_parameter([&](ccl::Parameter<double>& p) {
    for (Index k = 0; k < p.value.size(); k += std::max<Index>(1, p.value.size() / 7)) {
      double& v = p.value.data()[k];
      const double saved = v;
      v = saved + 1e-6;
      const double plus = loss();
      v = saved - 1e-6;
      const double minus = loss();
      v = saved;
      const double numeric = (plus - minus) / 2e-6;
      worst = std::max(worst, std::abs(numeric - p.grad.data()[k]) / std::max(1.0, std::abs(numeric)));
    }
  });
  return worst;
}

}  // namespace

TEST_CASE("the official R(2+1)D has the official code's 14,365,303 parameters",
          "[encoders][r2plus1d]") {
  ccl::Rng rng(1);
  auto net = enc::r2plus1d<float>(enc::R2Plus1dOptions::official(), rng);
  // 14.37 M without the classifier, 14.39 M with a 51-way Linear (method.md §3.1).
  CHECK(parameter_count(net) == 14365303);
  CHECK(parameter_count(net) + 512 * 51 + 51 == 14391466);
  std::set<std::string> names;
  net.for_each_parameter([&](ccl::Parameter<float>& p) { CHECK(names.insert(p.name).second); });
}

TEST_CASE("the narrow R(2+1)D maps clips to 64-d embeddings", "[encoders][r2plus1d]") {
  ccl::Rng rng(2);
  auto net = enc::r2plus1d<float>(enc::R2Plus1dOptions::narrow(1), rng);
  const auto clips = random_tensor<float, 5>({2, 1, 8, 16, 16}, rng);
  const auto& out = net.forward(clips);
  CHECK(out.shape() == ccl::nn::Shape<2>{2, 64});
  CHECK(out.matrix().allFinite());
  CHECK_THROWS_AS(net.forward(random_tensor<float, 5>({2, 3, 8, 16, 16}, rng)), ccl::error);
}

TEST_CASE("encoder gradients match finite differences in double", "[encoders][gradient]") {
  ccl::Rng rng(3);
  SECTION("R(2+1)D") {
    enc::R2Plus1dOptions o = enc::R2Plus1dOptions::narrow(1);
    o.widths = {2, 2, 3, 3, 4};
    auto net = enc::r2plus1d<double>(o, rng);
    CHECK(gradient_error(net, random_tensor<double, 5>({3, 1, 4, 6, 6}, rng), rng) < 1e-6);
  }
  SECTION("audio CNN") {
    enc::ConvStackOptions o;
    o.widths = {3, 4, 5};
    o.embedding_dim = 6;
    o.first_stride = 2;
    auto net = enc::audio_cnn<double>(o, rng);
    CHECK(gradient_error(net, random_tensor<double, 3>({3, 1, 40}, rng), rng) < 1e-6);
  }
  SECTION("image CNN") {
    enc::ConvStackOptions o;
    o.widths = {3, 4, 5};
    o.embedding_dim = 6;
    auto net = enc::image_cnn<double>(o, rng);
    CHECK(gradient_error(net, random_tensor<double, 4>({3, 1, 12, 12}, rng), rng) < 1e-6);
  }
}

TEST_CASE("encoder options are validated", "[encoders][errors]") {
  ccl::Rng rng(4);
  enc::R2Plus1dOptions o = enc::R2Plus1dOptions::narrow(1);
  o.widths[2] = 0;
  CHECK_THROWS_WITH(enc::r2plus1d<float>(o, rng), Catch::Contains("width must be positive"));
  enc::ConvStackOptions c;
  c.embedding_dim = 0;
  CHECK_THROWS_AS(enc::image_cnn<float>(c, rng), ccl::error);
}
