// Softmax cross-entropy on the CUDA backend against the CPU backend (which
// tests/test_loss_logits.cpp checks against a reference and finite differences). Tolerances,
// relative to max(1, |L|) and to the largest gradient entry: double 1e-12 / 1e-12, float 1e-5 /
// 1e-5.

#include <ccl/cuda.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::loss::CrossEntropy;
using ccl::loss::Numerics;
using ccl::loss::SymmetricKl;

TEST_CASE("cross-entropy on CUDA instantiates and rejects bad input without a device",
          "[host][cuda][cross_entropy]") {
  std::vector<float> host(12, 0.5f);
  CrossEntropy<float, ccl::cuda> ce_f;
  CrossEntropy<double, ccl::cuda> ce_d;
  const auto logits = ccl::gpu::device_view(host.data(), 3, 4);
  REQUIRE_THROWS_WITH(
      ce_f.accumulate(logits, std::vector<int>{0, 1, 2}, 1.0f, {}),
      Catch::Contains("cross_entropy: logits (shape [3, 4]) points to host memory"));
  REQUIRE_THROWS_WITH(ce_f.accumulate(logits, std::vector<int>{0, 1, 4}, 1.0f, {}),
                      "ccl: cross_entropy: label[2] = 4 is outside [0, 4)");
  REQUIRE_THROWS_WITH(ce_f.accumulate(logits, std::vector<int>{0, 1}, 1.0f, {}),
                      "ccl: cross_entropy: 2 labels for a batch of 3");
  std::vector<double> hd(12, 0.5);
  REQUIRE_THROWS_WITH(
      ce_d.accumulate(ccl::gpu::device_view(hd.data(), 0, 4), std::vector<int>{}, 1.0, {}),
      Catch::Contains("cross_entropy: empty batch"));
}

TEMPLATE_TEST_CASE("cross-entropy on the GPU matches the CPU backend", "[gpu][cuda][cross_entropy]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const double tol = std::is_same_v<Scalar, double> ? 1e-12 : 1e-5;
  const auto shape =
      GENERATE(std::make_pair(Index(1), Index(1)), std::make_pair(Index(5), Index(3)),
               std::make_pair(Index(37), Index(51)), std::make_pair(Index(300), Index(1000)));
  const Index batch = shape.first;
  const Index classes = shape.second;
  const double spread = GENERATE(1.0, 80.0);  // 80: logits far apart, softmax saturated
  INFO("B " << batch << ", C " << classes << ", spread " << spread);
  RowMatrix<Scalar> z = ccl::testing::random_matrix<Scalar>(batch, classes, 5 + batch);
  z *= Scalar(spread);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (Index i = 0; i < batch; ++i) labels[std::size_t(i)] = int((7 * i + 3) % classes);
  const RowMatrix<Scalar> start = ccl::testing::random_matrix<Scalar>(batch, classes, 9);

  RowMatrix<Scalar> cpu_grad = start;
  CrossEntropy<Scalar> cpu;
  const double cpu_value =
      cpu.accumulate(ccl::view(z), labels, Scalar(0.3), ccl::mutable_view(cpu_grad));

  // Logits as the left columns of a wider device matrix: strided input and gradient.
  RowMatrix<Scalar> wide = RowMatrix<Scalar>::Zero(batch, classes + 3);
  wide.leftCols(classes) = z;
  RowMatrix<Scalar> wide_grad = RowMatrix<Scalar>::Zero(batch, classes + 3);
  wide_grad.leftCols(classes) = start;
  const auto dz = ccl::gpu::to_device(wide);
  auto dgrad = ccl::gpu::to_device(wide_grad);
  CrossEntropy<Scalar, ccl::cuda> gpu;
  const double gpu_value = gpu.accumulate(
      ccl::gpu::device_view(dz.data(), batch, classes, classes + 3), labels, Scalar(0.3),
      ccl::gpu::mutable_device_view(dgrad.data(), batch, classes, classes + 3));
  const RowMatrix<Scalar> back = ccl::gpu::to_host(dgrad);
  CHECK(std::abs(gpu_value - cpu_value) <= tol * std::max(1.0, std::abs(cpu_value)));
  CHECK(ccl::testing::scaled_max_error(back.leftCols(classes), cpu_grad, 1e-30) <= tol);
  CHECK(back.rightCols(3) == RowMatrix<Scalar>::Zero(batch, 3));

  // The allocating call: LogitLossResult<Scalar, ccl::cuda>, the gradient in device memory.
  const auto packed = ccl::gpu::to_device(z);
  const auto result = gpu(packed.view(), labels);
  static_assert(std::is_same_v<std::decay_t<decltype(result.grad_logits)>,
                               ccl::gpu::DeviceMatrix<Scalar>>,
                "CrossEntropy<S, cuda>::operator() keeps dL/dz on the device");
  const auto cpu_result = cpu(ccl::view(z), labels);
  CHECK(std::abs(double(result.value) - double(cpu_result.value)) <=
        tol * std::max(1.0, std::abs(double(cpu_result.value))));
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(result.grad_logits),
                                       cpu_result.grad_logits, 1e-30) <= tol);

  // Value only: the gradient view may be left empty.
  CHECK(std::abs(gpu.accumulate(ccl::gpu::device_view(dz.data(), batch, classes, classes + 3),
                                labels, Scalar(1), {}) -
                 cpu_value) <= tol * std::max(1.0, std::abs(cpu_value)));
}

TEST_CASE("cross-entropy on the GPU reports NaN logits like the CPU",
          "[gpu][cuda][cross_entropy]") {
  CCL_REQUIRE_CUDA_DEVICE();
  RowMatrix<float> z = RowMatrix<float>::Zero(4, 6);
  z(1, 5) = std::numeric_limits<float>::quiet_NaN();
  const auto dz = ccl::gpu::to_device(z);
  CrossEntropy<float, ccl::cuda> ce;
  REQUIRE_THROWS_WITH(ce.accumulate(dz.view(), std::vector<int>{0, 1, 2, 3}, 1.0f, {}),
                      "ccl: cross_entropy: logits[1, 5] = nan is not finite");
}

TEST_CASE("SymmetricKl on CUDA instantiates and rejects bad input without a device",
          "[host][cuda][symmetric_kl]") {
  std::vector<float> host(12, 0.5f);
  SymmetricKl<float, ccl::cuda> kl_f;
  SymmetricKl<double, ccl::cuda> kl_d;
  const auto z = ccl::gpu::device_view(host.data(), 3, 4);
  REQUIRE_THROWS_WITH(kl_f.accumulate(z, z, {}, 1.0f, {}, {}),
                      Catch::Contains("symmetric_kl: z1 (shape [3, 4]) points to host memory"));
  REQUIRE_THROWS_WITH(
      kl_f.accumulate(z, ccl::gpu::device_view(host.data(), 3, 3), {}, 1.0f, {}, {}),
      "ccl: symmetric_kl: z2 has shape [3, 3], expected [3, 4] to match z1");
  std::vector<double> hd(12, 0.5);
  SymmetricKl<double, ccl::cuda> negative(-1.0);
  const auto zd = ccl::gpu::device_view(hd.data(), 3, 4);
  REQUIRE_THROWS_WITH(negative.accumulate(zd, zd, {}, 1.0, {}, {}),
                      Catch::Contains("weight must be finite and >= 0"));
  REQUIRE_THROWS_WITH(kl_d.accumulate(zd, zd, {}, 1.0, {}, {}),
                      Catch::Contains("points to host memory"));
}

TEMPLATE_TEST_CASE("SymmetricKl on the GPU matches the CPU backend", "[gpu][cuda][symmetric_kl]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const double tol = std::is_same_v<Scalar, double> ? 1e-12 : 1e-4;
  const auto numerics = GENERATE(Numerics::stable, Numerics::official);
  const auto shape =
      GENERATE(std::make_pair(Index(1), Index(2)), std::make_pair(Index(9), Index(51)),
               std::make_pair(Index(130), Index(700)));
  const double spread = GENERATE(1.0, 40.0);
  const Index batch = shape.first;
  const Index classes = shape.second;
  INFO("numerics " << int(numerics) << ", B " << batch << ", C " << classes << ", spread "
                   << spread);
  RowMatrix<Scalar> z1 = ccl::testing::random_matrix<Scalar>(batch, classes, 21);
  RowMatrix<Scalar> z2 = ccl::testing::random_matrix<Scalar>(batch, classes, 22);
  z1 *= Scalar(spread);
  z2 *= Scalar(spread);
  const RowMatrix<Scalar> start = ccl::testing::random_matrix<Scalar>(batch, classes, 23);
  ccl::loss::SymmetricKlOptions options;
  options.numerics = numerics;

  RowMatrix<Scalar> cpu_g1 = start, cpu_g2 = start;
  SymmetricKl<Scalar> cpu(options);
  const double cpu_value = cpu.accumulate(ccl::view(z1), ccl::view(z2), {}, Scalar(0.7),
                                          ccl::mutable_view(cpu_g1), ccl::mutable_view(cpu_g2));
  const auto d1 = ccl::gpu::to_device(z1);
  const auto d2 = ccl::gpu::to_device(z2);
  auto g1 = ccl::gpu::to_device(start);
  auto g2 = ccl::gpu::to_device(start);
  SymmetricKl<Scalar, ccl::cuda> gpu(options);
  const double gpu_value =
      gpu.accumulate(d1.view(), d2.view(), {}, Scalar(0.7), g1.mutable_view(), g2.mutable_view());
  CHECK(std::abs(gpu_value - cpu_value) <= tol * std::max(1.0, std::abs(cpu_value)));
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(g1), cpu_g1, 1e-30) <= tol);
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(g2), cpu_g2, 1e-30) <= tol);

  // Only the second gradient requested (a frozen z1).
  RowMatrix<Scalar> cpu_only = start;
  cpu.accumulate(ccl::view(z1), ccl::view(z2), {}, Scalar(1), {}, ccl::mutable_view(cpu_only));
  auto only = ccl::gpu::to_device(start);
  gpu.accumulate(d1.view(), d2.view(), {}, Scalar(1), {}, only.mutable_view());
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(only), cpu_only, 1e-30) <= tol);
}
