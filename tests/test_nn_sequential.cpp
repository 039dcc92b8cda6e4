// nn::Sequential and nn::Residual: composition equals applying the layers by hand, whole-network
// gradients against central differences, PyTorch-style parameter/buffer names, train/eval
// propagation, and channel mismatches caught at construction.

#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/flatten.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/residual.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/spatio_temporal_conv.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <string>
#include <utility>
#include <vector>

using ccl::Index;
using ccl::nn::Shape;
using ccl::nn::Tensor;
namespace nn = ccl::nn;

namespace {

// Layers are drawn from rng in a fixed order by naming them first: the order in which a
// function's arguments are evaluated (and so the order of the draws) is up to the compiler.
template <class Scalar>
auto small_image_net(ccl::Rng& rng) {
  nn::Conv2d<Scalar> conv1(nn::ConvOptions<2>(2, 4, 3).padding(1), rng);
  nn::Conv2d<Scalar> conv2(nn::ConvOptions<2>(4, 3, 3).bias(false), rng);
  nn::Linear<Scalar> fc(3, 5, rng);
  return nn::sequential(std::move(conv1), nn::BatchNorm2d<Scalar>(4), nn::ReLU<Scalar, 4>{},
                        nn::MaxPool<Scalar, 2>(2), std::move(conv2), nn::GlobalAvgPool<Scalar, 2>{},
                        std::move(fc));
}

}  // namespace

TEST_CASE("Sequential applies its layers in order", "[nn][sequential]") {
  ccl::Rng rng(1), same(1);
  auto net = small_image_net<double>(rng);
  // The same layers, drawn from the same seed, applied by hand.
  nn::Conv2d<double> conv1(nn::ConvOptions<2>(2, 4, 3).padding(1), same);
  nn::BatchNorm2d<double> bn(4);
  nn::ReLU<double, 4> relu;
  nn::MaxPool<double, 2> pool(2);
  nn::Conv2d<double> conv2(nn::ConvOptions<2>(4, 3, 3).bias(false), same);
  nn::GlobalAvgPool<double, 2> gap;
  nn::Linear<double> fc(3, 5, same);
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 8, 8});
  const auto& y = net.forward(x);
  const auto& by_hand = fc.forward(
      gap.forward(conv2.forward(pool.forward(relu.forward(bn.forward(conv1.forward(x)))))));
  REQUIRE(y.shape() == Shape<2>{2, 5});
  CHECK((y.matrix() - by_hand).cwiseAbs().maxCoeff() == 0);
  CHECK(decltype(net)::size == 7);
  CHECK(net.in_channels() == 2);
  CHECK(net.out_channels() == 5);
}

TEST_CASE("Sequential names parameters and buffers like torch.nn.Sequential", "[nn][sequential]") {
  ccl::Rng rng(2);
  auto net = small_image_net<float>(rng);
  std::vector<std::string> names;
  net.for_each_parameter([&](ccl::Parameter<float>& p) { names.push_back(p.name); });
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight",
                                          "6.weight", "6.bias"});
  names.clear();
  net.for_each_buffer(
      [&](const std::string& name, ccl::RowMatrix<float>&) { names.push_back(name); });
  CHECK(names == std::vector<std::string>{"1.running_mean", "1.running_var"});
  // Nesting adds the outer prefix.
  auto outer = nn::sequential(small_image_net<float>(rng), nn::ReLU<float, 2>{});
  names.clear();
  outer.for_each_parameter([&](ccl::Parameter<float>& p) { names.push_back(p.name); });
  CHECK(names.front() == "0.0.weight");
}

TEST_CASE("Sequential propagates train/eval and zero_grad", "[nn][sequential]") {
  ccl::Rng rng(3);
  auto net = small_image_net<double>(rng);
  CHECK(net.get<1>().is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.get<1>().is_training());
  const auto x = ccl::testing::random_tensor<double>(rng, Shape<4>{1, 2, 6, 6});
  const auto mean = net.get<1>().running_mean();
  net.forward(x);
  CHECK(net.get<1>().running_mean() == mean);  // eval: statistics untouched
  net.backward(Tensor<double, 2>({1, 5}, 1.0));
  CHECK_FALSE(net.get<0>().weight().grad.isZero(0));
  net.zero_grad();
  bool all_zero = true;
  net.for_each_parameter(
      [&](ccl::Parameter<double>& p) { all_zero = all_zero && p.grad.isZero(0); });
  CHECK(all_zero);
}

TEST_CASE("Sequential gradients match central differences", "[nn][sequential][gradient]") {
  ccl::Rng rng(4);
  auto net = small_image_net<double>(rng);
  const auto e = ccl::testing::check_gradients(
      net, ccl::testing::random_tensor<double>(rng, Shape<4>{2, 2, 6, 6}), rng);
  CHECK(e.input < 1e-6);
  CHECK(e.parameter < 1e-6);
}

TEST_CASE("Residual blocks of the R(2+1)D student", "[nn][residual][gradient]") {
  ccl::Rng rng(5);
  using STConv = nn::SpatioTemporalConv<double>;
  using Options = nn::SpatioTemporalConvOptions;
  SECTION("identity shortcut: ReLU(x + BN(ST(ReLU(BN(ST(x))))))") {
    auto block =
        nn::sequential(nn::residual(nn::sequential(
                           STConv(Options(2, 2, 3).padding(1), rng), nn::BatchNorm3d<double>(2),
                           nn::ReLU<double, 5>{}, STConv(Options(2, 2, 3).padding(1), rng),
                           nn::BatchNorm3d<double>(2))),
                       nn::ReLU<double, 5>{});
    const auto x = ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 2, 3, 3});
    const auto& y = block.forward(x);
    // By hand: the same residual branch output plus x, then ReLU.
    const auto& branch = block.get<0>().main().output();
    double diff = 0;
    for (Index i = 0; i < y.size(); ++i)
      diff = std::max(diff, std::abs(y.data()[i] - std::max(0.0, branch.data()[i] + x.data()[i])));
    CHECK(diff < 1e-14);
    const auto e = ccl::testing::check_gradients(block, x, rng);
    CHECK(e.input < 1e-6);
    CHECK(e.parameter < 1e-6);
    std::vector<std::string> names;
    block.for_each_parameter([&](ccl::Parameter<double>& p) { names.push_back(p.name); });
    CHECK(names.front() == "0.main.0.spatial_conv.weight");
  }
  SECTION("downsampling block with a factorised 1x1x1 projection shortcut") {
    auto block = nn::residual(
        nn::sequential(STConv(Options(2, 3, 3).padding(1).stride(2), rng),
                       nn::BatchNorm3d<double>(3)),
        nn::sequential(STConv(Options(2, 3, 1).stride(2), rng), nn::BatchNorm3d<double>(3)));
    CHECK(block.out_channels() == 3);
    const auto x = ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 2, 4, 4});
    CHECK(block.forward(x).shape() == Shape<5>{2, 3, 1, 2, 2});
    const auto e = ccl::testing::check_gradients(block, x, rng);
    CHECK(e.input < 1e-6);
    CHECK(e.parameter < 1e-6);
  }
}

TEST_CASE("Containers reject mismatched channels and shapes with clear errors",
          "[nn][sequential][errors]") {
  using Catch::Matchers::Contains;
  ccl::Rng rng(6);
  REQUIRE_THROWS_WITH(nn::sequential(nn::Conv2d<float>(nn::ConvOptions<2>(2, 4, 3), rng),
                                     nn::BatchNorm2d<float>(3)),
                      Contains("Sequential: layer 1 (BatchNorm2d) expects 3 input channels but "
                               "layer 0 (Conv2d) produces 4"));
  REQUIRE_THROWS_WITH(
      nn::sequential(nn::Conv1d<float>(nn::ConvOptions<1>(2, 4, 3), rng), nn::ReLU<float, 3>{},
                     nn::Conv1d<float>(nn::ConvOptions<1>(5, 4, 3), rng)),
      Contains("layer 2 (Conv1d) expects 5 input channels but layer 1 (ReLU) "
               "produces 4"));
  REQUIRE_THROWS_WITH(nn::sequential(nn::Conv2d<float>(nn::ConvOptions<2>(2, 4, 3), rng),
                                     nn::GlobalAvgPool<float, 2>{}, nn::Linear<float>(3, 2, rng)),
                      Contains("layer 2 (Linear) expects 3 input channels but layer 1 "
                               "(GlobalAvgPool) produces 4"));
  // Flatten hides the feature count until run time; Linear then reports the shape.
  auto flat = nn::sequential(nn::Conv1d<float>(nn::ConvOptions<1>(1, 2, 3), rng),
                             nn::Flatten<float, 3>{}, nn::Linear<float>(10, 2, rng));
  REQUIRE_NOTHROW(flat.forward(Tensor<float, 3>({1, 1, 7})));
  REQUIRE_THROWS_WITH(flat.forward(Tensor<float, 3>({1, 1, 8})), Contains("Linear::forward"));
  auto bad_block =
      nn::residual(nn::Conv2d<float>(nn::ConvOptions<2>(2, 2, 3).stride(2).padding(1), rng));
  REQUIRE_THROWS_WITH(bad_block.forward(Tensor<float, 4>({1, 2, 4, 4})),
                      Contains("Residual: the main branch produces shape [1, 2, 2, 2] but the "
                               "shortcut produces [1, 2, 4, 4]"));
}
