// The device layers of ccl::nn without a device ([host]): every device layer and the R(2+1)D /
// containers instantiate as layers of the cuda backend; the cuDNN descriptors ccl builds give
// cuDNN's own output shapes equal to the CPU layers'; the algorithm choice; the pooling window
// maths; Philox against its published known-answer vectors; the cuDNN status -> ccl::error
// mapping. The comparisons with the CPU layers on a device ([gpu]) are in test_cuda_nn_layers.cu.

#include <ccl/cuda.hpp>
#include <ccl/nn/nn.hpp>

#include "nn_support.cuh"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::cuda;
using ccl::nn::Shape;
using ccl::testing::error_message;
namespace nn = ccl::nn;
namespace gpu = ccl::gpu;

// ---------------------------------------------------------------------------------------------
// [host]

TEST_CASE("cuDNN statuses become ccl::errors naming the call", "[host][cuda][nn]") {
  for (cudnnStatus_t status : {CUDNN_STATUS_BAD_PARAM, CUDNN_STATUS_NOT_SUPPORTED,
                               CUDNN_STATUS_ALLOC_FAILED, CUDNN_STATUS_EXECUTION_FAILED,
                               CUDNN_STATUS_INTERNAL_ERROR}) {
    const std::string message = error_message([&] { CCL_CUDA_CHECK(status); });
    INFO(message);
    CHECK(message.find("cuDNN call status failed") != std::string::npos);
    CHECK(message.find(cudnnGetErrorString(status)) != std::string::npos);
    CHECK(message.find("(status " + std::to_string(int(status)) + ")") != std::string::npos);
  }
  CHECK_NOTHROW(CCL_CUDA_CHECK(CUDNN_STATUS_SUCCESS));
  CHECK(gpu::cudnn_version() >= 90000);
}

template <class L>
void check_device_layer() {
  STATIC_REQUIRE(nn::is_layer_v<L>);
  STATIC_REQUIRE(std::is_same_v<nn::layer_backend_t<L>, cuda>);
  STATIC_REQUIRE(std::is_same_v<typename L::backend_type, cuda>);
  STATIC_REQUIRE(std::is_move_constructible_v<L>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<L>);
}

TEMPLATE_TEST_CASE("every device layer is a ccl::nn layer of the cuda backend",
                   "[host][cuda][nn]", float, double) {
  using S = TestType;
  check_device_layer<nn::Conv1d<S, cuda>>();
  check_device_layer<nn::Conv2d<S, cuda>>();
  check_device_layer<nn::Conv3d<S, cuda>>();
  check_device_layer<nn::BatchNorm<S, 0, cuda>>();
  check_device_layer<nn::BatchNorm1d<S, cuda>>();
  check_device_layer<nn::BatchNorm2d<S, cuda>>();
  check_device_layer<nn::BatchNorm3d<S, cuda>>();
  check_device_layer<nn::ReLU<S, 5, cuda>>();
  check_device_layer<nn::MaxPool<S, 2, cuda>>();
  check_device_layer<nn::AvgPool<S, 3, cuda>>();
  check_device_layer<nn::GlobalAvgPool<S, 1, cuda>>();
  check_device_layer<nn::Flatten<S, 4, cuda>>();
  check_device_layer<nn::Dropout<S, 2, cuda>>();
  check_device_layer<nn::Identity<S, 5, cuda>>();
  check_device_layer<nn::SpatioTemporalConv<S, cuda>>();
  using Net = nn::encoders::R2Plus1d<S, cuda>;
  check_device_layer<Net>();
  STATIC_REQUIRE(std::is_same_v<typename Net::Input, nn::Tensor<S, 5, cuda>>);
  STATIC_REQUIRE(std::is_same_v<typename Net::Output, nn::Tensor<S, 2, cuda>>);
  STATIC_REQUIRE(
      std::is_same_v<nn::layer_backend_t<nn::encoders::R2Plus1d<S>>, ccl::cpu>);  // unchanged
  STATIC_REQUIRE(nn::detail::has_buffers<nn::BatchNorm3d<S, cuda>>::value);
  STATIC_REQUIRE(nn::detail::has_buffers<Net>::value);
  STATIC_REQUIRE(nn::detail::has_set_training<Net>::value);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<nn::Conv3d<S, cuda>&>().weight()),
                                ccl::Parameter<S, cuda>&>);
}

// cuDNN computes a convolution's output shape from the descriptors ccl builds; it must be the CPU
// layer's (this checks the 1D lifting, padding, stride and dilation order without a device).
template <int Rank>
void check_conv_descriptors(const nn::ConvOptions<Rank>& options, const Shape<Rank + 2>& in) {
  const nn::ConvNd<float, Rank> cpu_layer(options);
  const Shape<Rank + 2> expected = cpu_layer.output_shape(in);
  const Shape<Rank + 2> out = nn::detail::conv_output_shape("Conv", options, in);
  REQUIRE(out == expected);
  const auto d = gpu::detail::conv_dims("Conv", options, in, out);
  gpu::TensorDescriptor x;
  x.set(CUDNN_DATA_FLOAT, d.x);
  gpu::FilterDescriptor w;
  w.set(CUDNN_DATA_FLOAT, d.w);
  gpu::ConvolutionDescriptor conv;
  conv.set(d.padding, d.stride, d.dilation, CUDNN_DATA_FLOAT);
  constexpr int dims = int(gpu::detail::ConvDims<Rank>::tensor_rank);
  int cudnn_out[dims];
  CCL_CUDA_CHECK(cudnnGetConvolutionNdForwardOutputDim(conv.get(), x.get(), w.get(), dims,
                                                        cudnn_out));
  INFO("input " << nn::shape_string(in) << " -> CPU " << nn::shape_string(expected));
  CHECK(cudnn_out[0] == expected[0]);
  CHECK(cudnn_out[1] == expected[1]);
  for (int i = 0; i < Rank; ++i) CHECK(cudnn_out[dims - Rank + i] == expected[std::size_t(2 + i)]);
  for (int i = 0; i < dims - 2 - Rank; ++i) CHECK(cudnn_out[2 + i] == 1);  // the lifted axis
  CHECK(d.y[1] == int(options.out_channels()));
  CHECK(d.bias[1] == int(options.out_channels()));
}

TEST_CASE("cuDNN's output shapes from ccl's descriptors equal the CPU layers'",
          "[host][cuda][nn][conv]") {
  check_conv_descriptors<1>(nn::ConvOptions<1>(3, 4, 5).stride(2).padding(1).dilation(2),
                            {2, 3, 17});
  check_conv_descriptors<1>(nn::ConvOptions<1>(1, 8, 80).stride(4), {3, 1, 1000});
  check_conv_descriptors<2>(nn::ConvOptions<2>(3, 16, {3, 5}).stride({1, 2}).padding({1, 2}),
                            {2, 3, 9, 11});
  check_conv_descriptors<2>(nn::ConvOptions<2>(2, 2, 1), {1, 2, 4, 4});
  check_conv_descriptors<3>(nn::ConvOptions<3>(3, 5, {1, 3, 3}).stride({1, 2, 2}).padding(
                                {0, 1, 1}),
                            {2, 3, 4, 9, 9});
  check_conv_descriptors<3>(nn::ConvOptions<3>(4, 6, {3, 1, 1}).stride({2, 1, 1}).dilation(
                                {2, 1, 1}),
                            {1, 4, 9, 3, 5});
  REQUIRE_THROWS_WITH(
      nn::detail::conv_output_shape("Conv2d", nn::ConvOptions<2>(1, 1, 5), Shape<4>{1, 1, 3, 3}),
      Catch::Contains("Conv2d: kernel 5 (dilation 1) is larger than the padded input"));
}

TEST_CASE("batch-norm descriptors pad [N, C] and [N, C, L] to 4D", "[host][cuda][nn][bn]") {
  const auto d0 = gpu::detail::batch_norm_dims<0>("BatchNorm1d", Shape<2>{5, 3});
  CHECK(d0 == std::array<int, 4>{5, 3, 1, 1});
  const auto d1 = gpu::detail::batch_norm_dims<1>("BatchNorm1d", Shape<3>{5, 3, 7});
  CHECK(d1 == std::array<int, 4>{5, 3, 7, 1});
  const auto d3 = gpu::detail::batch_norm_dims<3>("BatchNorm3d", Shape<5>{2, 3, 4, 5, 6});
  CHECK(d3 == std::array<int, 5>{2, 3, 4, 5, 6});
  gpu::TensorDescriptor x, bn;
  x.set(CUDNN_DATA_FLOAT, d3);
  CCL_CUDA_CHECK(cudnnDeriveBNTensorDescriptor(bn.get(), x.get(), CUDNN_BATCHNORM_SPATIAL));
  cudnnDataType_t type;
  int nb = 0, dims[5], strides[5];
  CCL_CUDA_CHECK(cudnnGetTensorNdDescriptor(bn.get(), 5, &type, &nb, dims, strides));
  CHECK(nb == 5);
  CHECK(dims[1] == 3);
  CHECK(dims[0] * dims[2] * dims[3] * dims[4] == 1);
}

TEST_CASE("the cuDNN algorithm choice honours workspace, math and determinism in that order",
          "[host][cuda][nn][conv]") {
  auto perf = [](int algo, cudnnStatus_t status, std::size_t memory, cudnnMathType_t math,
                 cudnnDeterminism_t det) {
    cudnnConvolutionFwdAlgoPerf_t p{};
    p.algo = cudnnConvolutionFwdAlgo_t(algo);
    p.status = status;
    p.memory = memory;
    p.mathType = math;
    p.determinism = det;
    return p;
  };
  const std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs = {
      perf(0, CUDNN_STATUS_NOT_SUPPORTED, 0, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC),
      perf(1, CUDNN_STATUS_SUCCESS, 1 << 30, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC),
      perf(2, CUDNN_STATUS_SUCCESS, 0, CUDNN_TENSOR_OP_MATH, CUDNN_DETERMINISTIC),
      perf(3, CUDNN_STATUS_SUCCESS, 0, CUDNN_FMA_MATH, CUDNN_NON_DETERMINISTIC),
      perf(4, CUDNN_STATUS_SUCCESS, 100, CUDNN_FMA_MATH, CUDNN_DETERMINISTIC)};
  const int n = int(perfs.size());
  using gpu::detail::choose_algorithm;
  CHECK(choose_algorithm(perfs.data(), n, 1000, CUDNN_FMA_MATH, true)->algo == 4);
  CHECK(choose_algorithm(perfs.data(), n, 1000, CUDNN_FMA_MATH, false)->algo == 3);
  CHECK(choose_algorithm(perfs.data(), n, 10, CUDNN_FMA_MATH, true)->algo == 3);
  CHECK(choose_algorithm(perfs.data(), n, std::size_t(1) << 31, CUDNN_FMA_MATH, true)->algo == 1);
  CHECK(choose_algorithm(perfs.data(), n, 1000, CUDNN_TENSOR_OP_MATH, true)->algo == 2);
  CHECK_FALSE(choose_algorithm(perfs.data(), 1, 1000, CUDNN_FMA_MATH, true).has_value());
  CHECK(gpu::detail::conv_math_type<float>(false) == CUDNN_FMA_MATH);
  CHECK(gpu::detail::conv_math_type<float>(true) == CUDNN_DEFAULT_MATH);
  CHECK(gpu::detail::conv_math_type<double>(false) == CUDNN_DEFAULT_MATH);
}

TEST_CASE("the pooling kernels' window maths matches the CPU geometry", "[host][cuda][nn][pool]") {
  const auto options = nn::PoolOptions<3>({2, 3, 3}).stride({1, 2, 1}).padding({1, 1, 0});
  const Shape<5> in{2, 3, 5, 7, 6};
  const nn::MaxPool<float, 3> cpu_pool(options);
  const auto g = gpu::detail::pool_geometry("MaxPool3d", options, in);
  const Shape<5> expected = cpu_pool.output_shape(in);
  for (int a = 0; a < 3; ++a) CHECK(g.out[a] == expected[std::size_t(2 + a)]);
  // Every (input index, window) incidence found by the gather equals the forward's windows.
  for (int a = 0; a < 3; ++a) {
    for (int i = 0; i < g.in[a]; ++i) {
      int lo = 0, hi = 0;
      gpu::nn_kernels::pool_windows_containing(g, a, i, lo, hi);
      for (int o = 0; o < g.out[a]; ++o) {
        int first = 0, last = 0;
        gpu::nn_kernels::pool_window(g, a, o, first, last);
        INFO("axis " << a << ", input " << i << ", window " << o);
        CHECK((first <= i && i < last) == (lo <= o && o <= hi));
      }
    }
  }
  REQUIRE_THROWS_WITH(gpu::detail::pool_geometry("MaxPool2d", nn::PoolOptions<2>(4),
                                                 Shape<4>{1, 1, 3, 3}),
                      Catch::Contains("MaxPool2d: kernel 4"));
}

TEST_CASE("Philox4x32-10 reproduces the Random123 known-answer vectors", "[host][cuda][nn]") {
  using gpu::nn_kernels::Philox4x32;
  auto run = [](Philox4x32 c, std::uint32_t k0, std::uint32_t k1) {
    return gpu::nn_kernels::philox4x32_10(c, k0, k1);
  };
  const Philox4x32 zero = run(Philox4x32{{0, 0, 0, 0}}, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  const Philox4x32 ones =
      run(Philox4x32{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu,
          0xffffffffu);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  const Philox4x32 pi =
      run(Philox4x32{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
          0x299f31d0u);
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

