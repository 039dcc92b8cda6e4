// nn::SpatioTemporalConv: the intermediate width M of method.md §3.1, the wiring (kernel, stride
// and padding split between the spatial and temporal halves) against the separately tested
// layers, gradients against central differences, names and bad input.

#include <ccl/nn/spatio_temporal_conv.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <string>
#include <vector>

using ccl::Index;
using ccl::nn::Shape;
using ccl::nn::spatio_temporal_channels;
using ccl::nn::SpatioTemporalConv;
using ccl::nn::SpatioTemporalConvOptions;
using ccl::nn::Tensor;

TEST_CASE("The intermediate width M matches the official R(2+1)D student", "[nn][st_conv]") {
  // method.md §3.1: stem, conv2, conv3 (block / shortcut / second conv), conv4, conv5.
  CHECK(spatio_temporal_channels({3, 7, 7}, 3, 64) == 83);
  CHECK(spatio_temporal_channels({3, 3, 3}, 64, 64) == 144);
  CHECK(spatio_temporal_channels({3, 3, 3}, 64, 128) == 230);
  CHECK(spatio_temporal_channels({1, 1, 1}, 64, 128) == 42);
  CHECK(spatio_temporal_channels({3, 3, 3}, 128, 128) == 288);
  CHECK(spatio_temporal_channels({3, 3, 3}, 128, 256) == 460);
  CHECK(spatio_temporal_channels({1, 1, 1}, 128, 256) == 85);
  CHECK(spatio_temporal_channels({3, 3, 3}, 256, 256) == 576);
  CHECK(spatio_temporal_channels({3, 3, 3}, 256, 512) == 921);
  CHECK(spatio_temporal_channels({1, 1, 1}, 256, 512) == 170);
  CHECK(spatio_temporal_channels({3, 3, 3}, 512, 512) == 1152);
}

TEST_CASE("SpatioTemporalConv is spatial conv -> BN -> ReLU -> temporal conv", "[nn][st_conv]") {
  ccl::Rng rng(8);
  // The stem of the student on a small clip: 3 -> 64, kernel (3, 7, 7), stride (1, 2, 2).
  SpatioTemporalConv<float> stem(
      SpatioTemporalConvOptions(3, 64, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}), rng);
  REQUIRE(stem.intermediate_channels() == 83);
  CHECK(stem.spatial_conv().weight().value.rows() == 83);
  CHECK(stem.spatial_conv().weight().value.cols() == 3 * 1 * 7 * 7);
  CHECK(stem.temporal_conv().weight().value.cols() == 83 * 3 * 1 * 1);
  CHECK_FALSE(stem.spatial_conv().has_bias());
  CHECK_FALSE(stem.temporal_conv().has_bias());
  CHECK(stem.output_shape({2, 3, 4, 16, 16}) == Shape<5>{2, 64, 4, 8, 8});

  std::vector<std::string> names;
  Index count = 0;
  stem.for_each_parameter([&](ccl::Parameter<float>& p) {
    names.push_back(p.name);
    count += p.size();
  });
  stem.for_each_buffer(
      [&](const std::string& name, ccl::RowMatrix<float>&) { names.push_back(name); });
  CHECK(names == std::vector<std::string>{"spatial_conv.weight", "bn.weight", "bn.bias",
                                          "temporal_conv.weight", "bn.running_mean",
                                          "bn.running_var"});
  CHECK(count == 3 * 49 * 83 + 2 * 83 + 83 * 3 * 64);

  // The same computation from separately built layers with the same weights.
  ccl::Rng rng2(9);
  SpatioTemporalConv<double> st(
      SpatioTemporalConvOptions(2, 3, {3, 3, 2}).stride({2, 2, 1}).padding({1, 1, 0}), rng2);
  const Index m = st.intermediate_channels();
  REQUIRE(m == 3 * 3 * 2 * 2 * 3 / (3 * 2 * 2 + 3 * 3));
  ccl::nn::Conv3d<double> spatial(
      ccl::nn::ConvOptions<3>(2, m, {1, 3, 2}).stride({1, 2, 1}).padding({0, 1, 0}).bias(false));
  ccl::nn::Conv3d<double> temporal(
      ccl::nn::ConvOptions<3>(m, 3, {3, 1, 1}).stride({2, 1, 1}).padding({1, 0, 0}).bias(false));
  ccl::nn::BatchNorm3d<double> bn(m);
  spatial.weight().value = st.spatial_conv().weight().value;
  temporal.weight().value = st.temporal_conv().weight().value;
  ccl::nn::ReLU<double, 5> relu;
  const auto x = ccl::testing::random_tensor<double>(rng2, Shape<5>{2, 2, 5, 5, 4});
  for (bool training : {true, false}) {
    st.train(training);
    bn.train(training);
    const auto& expected = temporal.forward(relu.forward(bn.forward(spatial.forward(x))));
    CHECK(ccl::testing::max_abs_difference(st.forward(x), expected) < 1e-13);
  }
  CHECK(st.bn().running_mean() == bn.running_mean());
}

TEST_CASE("SpatioTemporalConv gradients match central differences", "[nn][st_conv][gradient]") {
  ccl::Rng rng(10);
  SpatioTemporalConv<double> st(SpatioTemporalConvOptions(2, 3, 3).stride(2).padding(1).bias(true),
                                rng);
  const auto e = ccl::testing::check_gradients(
      st, ccl::testing::random_tensor<double>(rng, Shape<5>{2, 2, 3, 4, 4}), rng);
  CHECK(e.input < 1e-7);
  CHECK(e.parameter < 1e-7);
}

TEST_CASE("SpatioTemporalConv rejects bad input with clear errors", "[nn][st_conv][errors]") {
  using Catch::Matchers::Contains;
  ccl::Rng rng(11);
  REQUIRE_THROWS_WITH(SpatioTemporalConv<float>(SpatioTemporalConvOptions(0, 4, 3), rng),
                      Contains("SpatioTemporalConv: channel counts must be positive"));
  SpatioTemporalConv<float> st(SpatioTemporalConvOptions(3, 4, 3), rng);
  REQUIRE_THROWS_WITH(st.forward(Tensor<float, 5>({1, 2, 3, 3, 3})),
                      Contains("Conv3d: input has 2 channels"));
  REQUIRE_THROWS_WITH(st.forward(Tensor<float, 5>({1, 3, 2, 3, 3})),
                      Contains("kernel 3") && Contains("larger than the padded input"));
  REQUIRE_THROWS_WITH(st.backward(Tensor<float, 5>({1, 4, 1, 1, 1})),
                      Contains("called before forward"));
}

namespace {
template <class Module>
Index parameter_count(Module& module) {
  Index count = 0;
  module.for_each_parameter([&](ccl::Parameter<float>& p) { count += p.size(); });
  return count;
}

// One residual block of the student: two factorised convs with BN, plus the factorised 1x1x1
// projection shortcut with BN when the block downsamples.
Index block_parameters(ccl::Rng& rng, Index in, Index out, bool downsample) {
  SpatioTemporalConv<float> first(
      SpatioTemporalConvOptions(in, out, 3).padding(1).stride(downsample ? 2 : 1), rng);
  SpatioTemporalConv<float> second(SpatioTemporalConvOptions(out, out, 3).padding(1), rng);
  Index count = parameter_count(first) + parameter_count(second) + 2 * 2 * out;
  if (downsample) {
    SpatioTemporalConv<float> shortcut(SpatioTemporalConvOptions(in, out, 1).stride(2), rng);
    count += parameter_count(shortcut) + 2 * out;
  }
  return count;
}
}  // namespace

TEST_CASE("The factorised layers give the official student's 14.37 M parameters", "[nn][st_conv]") {
  // method.md §3.1: 14.37 M without the classifier, 14.39 M with a 51-way Linear(512 -> 51).
  ccl::Rng rng(12);
  SpatioTemporalConv<float> stem(
      SpatioTemporalConvOptions(3, 64, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}), rng);
  const Index total = parameter_count(stem) + 2 * 64 + block_parameters(rng, 64, 64, false) +
                      block_parameters(rng, 64, 128, true) + block_parameters(rng, 128, 256, true) +
                      block_parameters(rng, 256, 512, true);
  CHECK(total == 14365303);
  CHECK(total + 512 * 51 + 51 == 14391466);
}
