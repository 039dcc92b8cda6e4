// The device layers of ccl::nn against the CPU layers on identical inputs and weights ([gpu]):
// ConvNd 1D/2D/3D (forward, dL/dx, dL/dW, dL/db, accumulation, ParameterGradients::skip, the
// seeded initialisation, NaN and shape errors), BatchNorm 0d-3d (training and eval, running
// statistics after several steps, non-affine, NaN inputs), ReLU, pooling, Flatten, Dropout,
// Residual, SpatioTemporalConv and the narrow R(2+1)D student end to end.
//
// Tolerances (max |gpu - cpu| / max |cpu| per tensor): float 1e-4 for single layers (strict FP32
// math, only the summation order differs) and 5e-4 for convolutions (cuDNN may choose Winograd or
// FFT algorithms, 1e-3 for SpatioTemporalConv), 5e-3 for the 10-layer R(2+1)D (eleven batch norms
// amplify rounding); double 1e-10 (1e-8 end to end). ReLU, Flatten, Identity and max-pool outputs
// are exact; averages and max-pool gradients of overlapping windows (added in another order)
// 1e-6 (float) / 1e-12 (double).

#include <ccl/cuda.hpp>
#include <ccl/nn/encoders/conv_stack.hpp>
#include <ccl/nn/nn.hpp>

#include "nn_support.cuh"
#include "support.cuh"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::cuda;
using ccl::nn::Shape;
using ccl::testing::compare_parameters;
using ccl::testing::copy_parameters;
using ccl::testing::device_error;
using ccl::testing::error_message;
using ccl::testing::random_tensor;
using ccl::testing::tensor_error;
namespace nn = ccl::nn;
namespace gpu = ccl::gpu;

template <class Scalar>
constexpr double tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-4 : 1e-10;
}

// cuDNN may pick a Winograd or FFT algorithm, whose float rounding exceeds a direct sum's.
template <class Scalar>
constexpr double conv_tolerance() {
  return std::is_same_v<Scalar, float> ? 5e-4 : 1e-10;
}

// Runs forward and backward of a CPU layer and its device twin (parameters copied) on one input
// and one upstream gradient, and compares y, dL/dx (added to a non-zero grad_x, to check the
// accumulation) and every parameter gradient.
template <class Cpu, class Gpu>
void compare_layer(Cpu& cpu_layer, Gpu& gpu_layer, const typename Cpu::Input& x, double tol,
                   unsigned seed = 7) {
  using S = typename Cpu::scalar_type;
  const auto& y = cpu_layer.forward(x);
  const auto x_dev = gpu::to_device(x);
  const auto& y_dev = gpu_layer.forward(x_dev);
  CHECK(device_error(y_dev, y) <= tol);
  const auto grad_y = random_tensor<S, Cpu::output_rank>(y.shape(), seed);
  typename Cpu::Input grad_x(x.shape(), S(0.5));
  auto grad_x_dev = gpu::to_device(grad_x);
  cpu_layer.backward(grad_y, &grad_x);
  gpu_layer.backward(gpu::to_device(grad_y), &grad_x_dev);
  CHECK(device_error(grad_x_dev, grad_x) <= tol);
  compare_parameters(cpu_layer, gpu_layer, tol, tol);
}

template <int Rank, class S>
void check_conv(const nn::ConvOptions<Rank>& options, const Shape<Rank + 2>& in) {
  ccl::Rng rng_cpu(11), rng_gpu(11);
  nn::ConvNd<S, Rank> cpu_layer(options, rng_cpu);
  nn::ConvNd<S, Rank, cuda> gpu_layer(options, rng_gpu);
  INFO(cpu_layer.name << " input " << nn::shape_string(in));
  // The seed gives the CPU layer's weights exactly: the draws happen on the host.
  compare_parameters(cpu_layer, gpu_layer, 0.0, 0.0);
  CHECK(gpu_layer.output_shape(in) == cpu_layer.output_shape(in));
  compare_layer(cpu_layer, gpu_layer, random_tensor<S, Rank + 2>(in, 3), conv_tolerance<S>());
  // A second backward adds again: gradients double on both backends.
  const auto grad_y = random_tensor<S, Rank + 2>(cpu_layer.output().shape(), 7);
  cpu_layer.backward(grad_y);
  gpu_layer.backward(gpu::to_device(grad_y));
  compare_parameters(cpu_layer, gpu_layer, 0.0, conv_tolerance<S>());
  // skip leaves the parameters' gradients alone.
  cpu_layer.zero_grad();
  gpu_layer.zero_grad();
  nn::Tensor<S, Rank + 2, cuda> grad_x_dev(in);
  gpu_layer.backward(gpu::to_device(grad_y), &grad_x_dev, nn::ParameterGradients::skip);
  compare_parameters(cpu_layer, gpu_layer, 0.0, 0.0);
}

TEMPLATE_TEST_CASE("ConvNd on cuDNN matches the CPU layer", "[gpu][cuda][nn][conv]", float,
                   double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  check_conv<1, S>(nn::ConvOptions<1>(3, 4, 5).stride(2).padding(2).dilation(2), {2, 3, 23});
  check_conv<1, S>(nn::ConvOptions<1>(1, 6, 9).stride(4).bias(false), {3, 1, 64});
  check_conv<2, S>(nn::ConvOptions<2>(3, 8, 3).padding(1), {2, 3, 9, 10});
  check_conv<2, S>(nn::ConvOptions<2>(4, 5, {3, 5}).stride({2, 1}).padding({0, 2}).bias(false),
                   {3, 4, 11, 7});
  check_conv<2, S>(nn::ConvOptions<2>(6, 3, 1), {2, 6, 5, 5});  // pointwise
  check_conv<3, S>(nn::ConvOptions<3>(3, 4, {1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}),
                   {2, 3, 4, 9, 9});
  check_conv<3, S>(nn::ConvOptions<3>(4, 5, {3, 1, 1}).stride({2, 1, 1}).padding({1, 0, 0}).bias(
                       false),
                   {2, 4, 5, 3, 4});
  check_conv<3, S>(nn::ConvOptions<3>(2, 3, 3).padding(1).dilation({1, 2, 1}), {1, 2, 4, 8, 6});
}

TEST_CASE("ConvNd on cuDNN reports bad inputs with the CPU layer's messages",
          "[gpu][cuda][nn][conv]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto options = nn::ConvOptions<2>(3, 4, 3);
  nn::ConvNd<float, 2> cpu_layer(options);
  nn::ConvNd<float, 2, cuda> gpu_layer(options);
  auto bad_channels = random_tensor<float, 4>({2, 2, 5, 5}, 1);
  const auto bad_channels_dev = gpu::to_device(bad_channels);
  const std::string expected = error_message([&] { cpu_layer.forward(bad_channels); });
  CHECK_FALSE(expected.empty());
  CHECK(error_message([&] { gpu_layer.forward(bad_channels_dev); }) == expected);
  auto nan_input = random_tensor<float, 4>({2, 3, 5, 5}, 1);
  nan_input(1, 2, 3, 4) = std::numeric_limits<float>::quiet_NaN();
  const auto nan_input_dev = gpu::to_device(nan_input);
  const std::string nan_message = error_message([&] { cpu_layer.forward(nan_input); });
  CHECK(nan_message.find("non-finite value nan at flat index") != std::string::npos);
  CHECK(error_message([&] { gpu_layer.forward(nan_input_dev); }) == nan_message);
  const auto small = gpu::to_device(random_tensor<float, 4>({1, 3, 2, 2}, 1));
  CHECK(error_message([&] { gpu_layer.forward(small); }) ==
        error_message([&] { cpu_layer.forward(gpu::to_host(small)); }));
  nn::ConvNd<float, 2> fresh_cpu(options);
  nn::ConvNd<float, 2, cuda> fresh(options);
  nn::Tensor<float, 4, cuda> grad;
  const std::string never = error_message([&] { fresh_cpu.backward(nn::Tensor<float, 4>{}); });
  CHECK(never.find("Conv2d::backward: called before forward") != std::string::npos);
  CHECK(error_message([&] { fresh.backward(grad); }) == never);
}

template <int SpatialRank, class S>
void check_batch_norm(const nn::BatchNormOptions& options, const Shape<SpatialRank + 2>& in) {
  nn::BatchNorm<S, SpatialRank> cpu_layer(options);
  nn::BatchNorm<S, SpatialRank, cuda> gpu_layer(options);
  INFO(cpu_layer.name << " input " << nn::shape_string(in) << ", affine " << options.affine());
  if (options.affine()) {  // non-trivial γ, β
    ccl::Rng rng(5);
    rng.fill_uniform(cpu_layer.weight().value, 0.5, 1.5);
    rng.fill_uniform(cpu_layer.bias().value, -0.5, 0.5);
    copy_parameters(cpu_layer, gpu_layer);
  }
  const double tol = tolerance<S>();
  // Three training steps (mean 2, so the running statistics move visibly), then eval.
  for (unsigned step = 0; step < 3; ++step) {
    compare_layer(cpu_layer, gpu_layer, random_tensor<S, SpatialRank + 2>(in, 20 + step, 2.0),
                  tol, 30 + step);
  }
  std::vector<ccl::RowMatrix<S>> expected;
  cpu_layer.for_each_buffer([&](const std::string&, ccl::RowMatrix<S>& b) { expected.push_back(b); });
  std::vector<std::string> names;
  std::size_t i = 0;
  gpu_layer.for_each_buffer([&](const std::string& name, gpu::DeviceMatrix<S>& b) {
    names.push_back(name);
    ccl::RowMatrix<S> host(b.rows(), b.cols());
    gpu::copy<S>(b.view(), ccl::mutable_view(host));
    INFO("buffer " << name);
    CHECK(ccl::testing::scaled_max_error(host, expected[i++]) <= tol);
  });
  CHECK(names == std::vector<std::string>{"running_mean", "running_var"});
  cpu_layer.eval();
  gpu_layer.eval();
  compare_layer(cpu_layer, gpu_layer, random_tensor<S, SpatialRank + 2>(in, 40, 2.0), tol, 41);
}

TEMPLATE_TEST_CASE("BatchNorm on cuDNN matches the CPU layer (training, running statistics, eval)",
                   "[gpu][cuda][nn][bn]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  check_batch_norm<0, S>(nn::BatchNormOptions(6), {5, 6});
  check_batch_norm<1, S>(nn::BatchNormOptions(3).momentum(0.3), {4, 3, 7});
  check_batch_norm<2, S>(nn::BatchNormOptions(4), {2, 4, 5, 6});
  check_batch_norm<2, S>(nn::BatchNormOptions(4).affine(false).eps(1e-3), {3, 4, 2, 3});
  check_batch_norm<3, S>(nn::BatchNormOptions(5), {2, 5, 3, 4, 4});
}

TEST_CASE("BatchNorm on cuDNN refuses NaN batches like the CPU and keeps its statistics",
          "[gpu][cuda][nn][bn]") {
  CCL_REQUIRE_CUDA_DEVICE();
  nn::BatchNorm2d<float> cpu_layer(3);
  nn::BatchNorm2d<float, cuda> gpu_layer(3);
  auto x = random_tensor<float, 4>({2, 3, 4, 4}, 1);
  x(1, 2, 0, 3) = std::numeric_limits<float>::infinity();
  const std::string expected = error_message([&] { cpu_layer.forward(x); });
  CHECK(expected.find("channel 2 of the input") != std::string::npos);
  CHECK(error_message([&] { gpu_layer.forward(gpu::to_device(x)); }) == expected);
  ccl::RowMatrix<float> var(1, 3);
  gpu::copy<float>(gpu_layer.running_var().view(), ccl::mutable_view(var));
  CHECK(var == ccl::RowMatrix<float>::Ones(1, 3));
  const auto one_value = gpu::to_device(random_tensor<float, 4>({1, 3, 1, 1}, 1));
  CHECK(error_message([&] { gpu_layer.forward(one_value); }) ==
        error_message([&] { cpu_layer.forward(gpu::to_host(one_value)); }));
}

TEMPLATE_TEST_CASE("ReLU, pooling, Flatten and Identity on the device match the CPU",
                   "[gpu][cuda][nn][pool]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  const double average = std::is_same_v<S, float> ? 1e-6 : 1e-12;
  {
    nn::ReLU<S, 5> cpu_layer;
    nn::ReLU<S, 5, cuda> gpu_layer;
    compare_layer(cpu_layer, gpu_layer, random_tensor<S, 5>({2, 3, 2, 4, 5}, 1), 0.0);
  }
  {
    // Integers make ties: the first maximum must win on both backends.
    auto x = random_tensor<S, 4>({2, 3, 9, 8}, 2);
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = std::round(x.data()[i] * 2);
    nn::MaxPool<S, 2> cpu_layer(nn::PoolOptions<2>(3).stride(2).padding(1));
    nn::MaxPool<S, 2, cuda> gpu_layer(nn::PoolOptions<2>(3).stride(2).padding(1));
    // Overlapping windows: an input can win several, and the two backends add in another order.
    compare_layer(cpu_layer, gpu_layer, x, average);
  }
  {
    auto x = random_tensor<S, 3>({2, 2, 11}, 3);
    x(1, 1, 4) = std::numeric_limits<S>::quiet_NaN();
    nn::MaxPool<S, 1> cpu_layer(2);
    nn::MaxPool<S, 1, cuda> gpu_layer(2);
    auto y = gpu::to_host(gpu_layer.forward(gpu::to_device(x)));
    nn::Tensor<S, 3> expected = cpu_layer.forward(x);
    CHECK(std::isnan(y(1, 1, 2)));
    y(1, 1, 2) = expected(1, 1, 2) = 0;
    CHECK(tensor_error(y, expected) == 0.0);
  }
  for (bool include_pad : {true, false}) {
    const auto options = nn::PoolOptions<3>({2, 3, 3}).stride({1, 2, 2}).padding({1, 1, 0}).count_include_pad(
        include_pad);
    nn::AvgPool<S, 3> cpu_layer(options);
    nn::AvgPool<S, 3, cuda> gpu_layer(options);
    compare_layer(cpu_layer, gpu_layer, random_tensor<S, 5>({2, 2, 4, 7, 6}, 4), average);
  }
  {
    nn::GlobalAvgPool<S, 3> cpu_layer;
    nn::GlobalAvgPool<S, 3, cuda> gpu_layer;
    compare_layer(cpu_layer, gpu_layer, random_tensor<S, 5>({3, 4, 3, 5, 7}, 5), average);
  }
  {
    nn::Flatten<S, 4> cpu_layer;
    nn::Flatten<S, 4, cuda> gpu_layer;
    compare_layer(cpu_layer, gpu_layer, random_tensor<S, 4>({3, 2, 4, 5}, 6), 0.0);
  }
  {
    auto branch = [] { return nn::sequential(nn::ReLU<S, 4>{}, nn::AvgPool<S, 2>(1)); };
    auto block_cpu = nn::residual(branch());
    auto block_gpu = nn::residual(nn::sequential(nn::ReLU<S, 4, cuda>{}, nn::AvgPool<S, 2, cuda>(1)));
    compare_layer(block_cpu, block_gpu, random_tensor<S, 4>({2, 3, 4, 4}, 7), average);
  }
}

TEST_CASE("Dropout on the device: Philox masks with the CPU layer's rules", "[gpu][cuda][nn]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const double p = 0.3;
  const Shape<2> shape{64, 1000};
  const auto x = random_tensor<float, 2>(shape, 1);
  nn::Dropout<float, 2, cuda> layer(p, 42);
  const auto y = gpu::to_host(layer.forward(gpu::to_device(x)));
  nn::Tensor<float, 2> mask(shape);
  gpu::copy<float>(gpu::device_view(layer.mask().data(), shape[0], shape[1]),
                   mask.mutable_view());
  Index dropped = 0;
  const float scale = float(1 / (1 - p));
  for (Index i = 0; i < mask.size(); ++i) {
    const float m = mask.data()[i];
    REQUIRE((m == 0.0f || m == scale));
    dropped += m == 0.0f;
    CHECK(y.data()[i] == x.data()[i] * m);
  }
  // 64,000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.0018.
  CHECK(std::abs(double(dropped) / double(mask.size()) - p) < 0.01);
  const auto grad_y = random_tensor<float, 2>(shape, 2);
  nn::Tensor<float, 2, cuda> grad_x(shape);
  layer.backward(gpu::to_device(grad_y), &grad_x);
  const auto dx = gpu::to_host(grad_x);
  for (Index i = 0; i < mask.size(); ++i) CHECK(dx.data()[i] == grad_y.data()[i] * mask.data()[i]);
  // Same seed, same masks; eval is the identity.
  nn::Dropout<float, 2, cuda> twin(p, 42);
  CHECK(tensor_error(gpu::to_host(twin.forward(gpu::to_device(x))), y) == 0.0);
  twin.eval();
  CHECK(tensor_error(gpu::to_host(twin.forward(gpu::to_device(x))), x) == 0.0);
  nn::Dropout<float, 2, cuda> all(1.0, 1);
  const auto zeros = gpu::to_host(all.forward(gpu::to_device(x)));
  CHECK(zeros.flat().cwiseAbs().maxCoeff() == 0.0f);
}

TEMPLATE_TEST_CASE("SpatioTemporalConv on the device matches the CPU", "[gpu][cuda][nn][conv]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  const auto options = nn::SpatioTemporalConvOptions(3, 6, 3).stride({1, 2, 2}).padding(1);
  ccl::Rng rng_cpu(3), rng_gpu(3);
  nn::SpatioTemporalConv<S> cpu_layer(options, rng_cpu);
  nn::SpatioTemporalConv<S, cuda> gpu_layer(options, rng_gpu);
  compare_parameters(cpu_layer, gpu_layer, 0.0, 0.0);
  compare_layer(cpu_layer, gpu_layer, random_tensor<S, 5>({2, 3, 4, 8, 8}, 9),
                2 * conv_tolerance<S>());
}

TEMPLATE_TEST_CASE("the narrow R(2+1)D student on the device matches the CPU end to end",
                   "[gpu][cuda][nn][r2plus1d]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  const double tol = std::is_same_v<S, float> ? 5e-3 : 1e-8;
  const auto options = nn::encoders::R2Plus1dOptions::narrow(3);
  ccl::Rng rng_cpu(2021), rng_gpu(2021);
  auto cpu_net = nn::encoders::r2plus1d<S>(options, rng_cpu);
  auto gpu_net = nn::encoders::r2plus1d<S, cuda>(options, rng_gpu);
  compare_parameters(cpu_net, gpu_net, 0.0, 0.0);  // names ("0.spatial_conv.weight", ...) too
  for (unsigned step = 0; step < 2; ++step) {
    INFO("step " << step);
    cpu_net.zero_grad();
    gpu_net.zero_grad();
    compare_layer(cpu_net, gpu_net, random_tensor<S, 5>({4, 3, 8, 16, 16}, 100 + step), tol,
                  200 + step);
  }
  std::vector<ccl::RowMatrix<S>> expected;
  std::vector<std::string> expected_names;
  cpu_net.for_each_buffer([&](const std::string& name, ccl::RowMatrix<S>& b) {
    expected_names.push_back(name);
    expected.push_back(b);
  });
  std::size_t i = 0;
  gpu_net.for_each_buffer([&](const std::string& name, gpu::DeviceMatrix<S>& b) {
    REQUIRE(i < expected.size());
    CHECK(name == expected_names[i]);
    ccl::RowMatrix<S> host(b.rows(), b.cols());
    gpu::copy<S>(b.view(), ccl::mutable_view(host));
    CHECK(ccl::testing::scaled_max_error(host, expected[i++]) <= tol);
  });
  CHECK(i == expected.size());
  cpu_net.eval();
  gpu_net.eval();
  const auto x = random_tensor<S, 5>({2, 3, 8, 16, 16}, 300);
  CHECK(device_error(gpu_net.forward(gpu::to_device(x)), cpu_net.forward(x)) <= tol);
}

TEMPLATE_TEST_CASE("the conv-stack teachers on the device match the CPU (image 2D, audio 1D)",
                   "[gpu][cuda][nn][conv_stack]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using S = TestType;
  const double tol = std::is_same_v<S, float> ? 5e-3 : 1e-8;
  nn::encoders::ConvStackOptions options;
  options.in_channels = 1;
  options.embedding_dim = 16;
  {
    ccl::Rng rng_cpu(5), rng_gpu(5);
    auto cpu_net = nn::encoders::image_cnn<S>(options, rng_cpu);
    auto gpu_net = nn::encoders::image_cnn<S, cuda>(options, rng_gpu);
    compare_parameters(cpu_net, gpu_net, 0.0, 0.0);  // the projection's weights included
    compare_layer(cpu_net, gpu_net, random_tensor<S, 4>({4, 1, 28, 28}, 31), tol, 32);
  }
  {
    options.in_channels = 8;
    ccl::Rng rng_cpu(6), rng_gpu(6);
    auto cpu_net = nn::encoders::audio_cnn<S>(options, rng_cpu);
    auto gpu_net = nn::encoders::audio_cnn<S, cuda>(options, rng_gpu);
    compare_parameters(cpu_net, gpu_net, 0.0, 0.0);
    compare_layer(cpu_net, gpu_net, random_tensor<S, 3>({4, 8, 40}, 33), tol, 34);
  }
}
