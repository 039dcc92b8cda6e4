// The CUDA backend of multi-class NCE and instance NCE against the CPU backend on identical
// inputs (the CPU backend itself is checked against an independent reference and finite
// differences in tests/test_loss_contrastive.cpp). Both GPU algorithms (cuBLAS tiles, fused
// kernels), both numerics, extreme temperatures, dominant rows, strided views, accumulation.
//
// Tolerances (relative to the largest entry of the CPU result, one number per output):
//   double: value 1e-11, gradients 1e-10    (summation order only)
//   float : value 2e-5,  gradients 2e-4     (fp32 summation order, exp/log1p of CUDA vs glibc)
//   float with TF32: value 2e-2, gradients 5e-2 (10-bit mantissa products, τ = 0.5, D = 64)
//   Numerics::official at τ < 0.1: double 1e-6 / 1e-5, float 2e-2 / 5e-2, because
//   log(1 - p + 1e-10) amplifies the rounding of p near 1 (see test_cuda_row_math.cu).

#include <ccl/cuda.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::gpu::ContrastiveAlgorithm;
using ccl::loss::ContrastiveOptions;
using ccl::loss::EmptyNegatives;
using ccl::loss::InstanceNce;
using ccl::loss::MultiClassNce;
using ccl::loss::Numerics;

namespace {

template <class Scalar>
struct Outcome {
  double value = 0;
  RowMatrix<Scalar> grad_f, grad_g;
};

struct Tolerance {
  double value;
  double gradient;
};

template <class Scalar>
Tolerance tolerance(bool tf32 = false) {
  if (std::is_same_v<Scalar, double>) return {1e-11, 1e-10};
  return tf32 ? Tolerance{2e-2, 5e-2} : Tolerance{2e-5, 2e-4};
}

/// Runs the loss on the CPU with gradients starting from `start` (accumulation is checked too).
template <class Loss, class Scalar>
Outcome<Scalar> on_cpu(Loss loss, const RowMatrix<Scalar>& f, const RowMatrix<Scalar>& g,
                       const std::vector<int>& labels, Scalar weight,
                       const RowMatrix<Scalar>& start, bool want_f = true, bool want_g = true) {
  Outcome<Scalar> out{0, start, start};
  out.value =
      loss.accumulate(ccl::view(f), ccl::view(g), labels, weight,
                      want_f ? ccl::mutable_view(out.grad_f) : ccl::EmbeddingView<Scalar>{},
                      want_g ? ccl::mutable_view(out.grad_g) : ccl::EmbeddingView<Scalar>{});
  return out;
}

template <class Loss, class Scalar>
Outcome<Scalar> on_gpu(const ccl::Execution<ccl::cuda>& execution, Loss loss,
                       const RowMatrix<Scalar>& f, const RowMatrix<Scalar>& g,
                       const std::vector<int>& labels, Scalar weight,
                       const RowMatrix<Scalar>& start, bool want_f = true, bool want_g = true) {
  const auto df = ccl::gpu::to_device(f);
  const auto dg = ccl::gpu::to_device(g);
  auto grad_f = ccl::gpu::to_device(start);
  auto grad_g = ccl::gpu::to_device(start);
  Outcome<Scalar> out;
  loss.set_execution(execution);
  out.value =
      loss.accumulate(df.view(), dg.view(), labels, weight,
                      want_f ? grad_f.mutable_view() : ccl::EmbeddingView<Scalar, ccl::cuda>{},
                      want_g ? grad_g.mutable_view() : ccl::EmbeddingView<Scalar, ccl::cuda>{});
  out.grad_f = ccl::gpu::to_host(grad_f);
  out.grad_g = ccl::gpu::to_host(grad_g);
  return out;
}

template <class Scalar>
void require_close(const Outcome<Scalar>& gpu, const Outcome<Scalar>& cpu, Tolerance tol) {
  INFO("value: gpu " << gpu.value << ", cpu " << cpu.value);
  CHECK(std::abs(gpu.value - cpu.value) <= tol.value * std::max(1.0, std::abs(cpu.value)));
  const double ef = ccl::testing::scaled_max_error(gpu.grad_f, cpu.grad_f, 1e-12);
  const double eg = ccl::testing::scaled_max_error(gpu.grad_g, cpu.grad_g, 1e-12);
  INFO("scaled gradient errors: f " << ef << ", g " << eg);
  CHECK(ef <= tol.gradient);
  CHECK(eg <= tol.gradient);
  CHECK(std::isfinite(gpu.value));
}

std::vector<int> labels_with_classes(Index batch, int classes, std::uint64_t seed) {
  ccl::Rng rng(seed);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (auto& y : labels) y = static_cast<int>(rng.index(classes));
  return labels;
}

ccl::Execution<ccl::cuda> with(ContrastiveAlgorithm algorithm, bool tf32 = false) {
  ccl::Execution<ccl::cuda> s;
  s.contrastive = algorithm;
  s.allow_tf32 = tf32;
  return s;
}

const char* name(ContrastiveAlgorithm a) {
  return a == ContrastiveAlgorithm::cublas ? "cublas" : "fused";
}

}  // namespace

TEST_CASE("the CUDA losses instantiate, link and reject host memory without a device",
          "[host][cuda][contrastive]") {
  // Instantiates every kernel of both algorithms for float and double.
  std::vector<float> hf(12, 1.0f);
  std::vector<double> hd(12, 1.0);
  const std::vector<int> labels{0, 1, 0};
  MultiClassNce<float, ccl::cuda> mf(0.5);
  MultiClassNce<double, ccl::cuda> md(0.5);
  InstanceNce<float, ccl::cuda> inf(0.5);
  InstanceNce<double, ccl::cuda> ind(0.5);
  const auto vf = ccl::gpu::device_view(hf.data(), 3, 4);
  const auto vd = ccl::gpu::device_view(hd.data(), 3, 4);
  const auto host_message = Catch::Contains("f (shape [3, 4]) points to host memory");
  REQUIRE_THROWS_WITH(mf.accumulate(vf, vf, labels, 1.0f, {}, {}), host_message);
  REQUIRE_THROWS_WITH(md.accumulate(vd, vd, labels, 1.0, {}, {}), host_message);
  REQUIRE_THROWS_WITH(inf.accumulate(vf, vf, {}, 1.0f, {}, {}), host_message);
  REQUIRE_THROWS_WITH(ind.accumulate(vd, vd, {}, 1.0, {}, {}), host_message);
  // Shape errors are found before any CUDA call, with the CPU backend's messages.
  const auto narrow = ccl::gpu::device_view(hf.data(), 3, 2);
  REQUIRE_THROWS_WITH(mf.accumulate(vf, narrow, labels, 1.0f, {}, {}),
                      "ccl: multiclass_nce: g has shape [3, 2], expected [3, 4] to match f");
  MultiClassNce<float, ccl::cuda> cold(-1.0);
  REQUIRE_THROWS_WITH(cold.accumulate(vf, vf, labels, 1.0f, {}, {}),
                      Catch::Contains("temperature must be positive"));
}

TEMPLATE_TEST_CASE("multi-class NCE on the GPU matches the CPU backend", "[gpu][cuda][contrastive]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  const auto numerics = GENERATE(Numerics::stable, Numerics::official);
  const double tau = GENERATE(0.5, 0.07);
  const auto shape =
      GENERATE(std::make_tuple(Index(1), Index(5)), std::make_tuple(Index(7), Index(3)),
               std::make_tuple(Index(33), Index(16)), std::make_tuple(Index(100), Index(65)),
               std::make_tuple(Index(257), Index(40)));
  const Index batch = std::get<0>(shape);
  const Index dim = std::get<1>(shape);
  INFO(name(algorithm) << ", numerics " << int(numerics) << ", tau " << tau << ", B " << batch
                       << ", D " << dim);
  const auto f = ccl::testing::random_matrix<Scalar>(batch, dim, 1 + batch);
  const auto g = ccl::testing::random_matrix<Scalar>(batch, dim, 2 + batch);
  const auto start = ccl::testing::random_matrix<Scalar>(batch, dim, 3);
  const auto labels = labels_with_classes(batch, 4, 4);
  ContrastiveOptions options;
  options.temperature = tau;
  options.numerics = numerics;
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto cpu = on_cpu(MultiClassNce<Scalar>(options), f, g, labels, Scalar(0.75), start);
  const auto gpu = on_gpu(execution, MultiClassNce<Scalar, ccl::cuda>(options), f, g, labels,
                          Scalar(0.75), start);
  const bool ill_conditioned = numerics == Numerics::official && tau < 0.1;
  const Tolerance official_tol =
      std::is_same_v<Scalar, double> ? Tolerance{1e-6, 1e-5} : Tolerance{2e-2, 5e-2};
  require_close(gpu, cpu, ill_conditioned ? official_tol : tolerance<Scalar>());
}

TEMPLATE_TEST_CASE("instance NCE on the GPU matches the CPU backend", "[gpu][cuda][contrastive]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  const double tau = GENERATE(0.5, 0.05);
  const Index batch = GENERATE(Index(1), Index(31), Index(130));
  INFO(name(algorithm) << ", tau " << tau << ", B " << batch);
  const auto f = ccl::testing::random_matrix<Scalar>(batch, 24, 10 + batch);
  const auto g = ccl::testing::random_matrix<Scalar>(batch, 24, 20 + batch);
  const RowMatrix<Scalar> start = RowMatrix<Scalar>::Zero(batch, 24);
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto cpu = on_cpu(InstanceNce<Scalar>(tau), f, g, {}, Scalar(1), start);
  const auto gpu =
      on_gpu(execution, InstanceNce<Scalar, ccl::cuda>(tau), f, g, {}, Scalar(1), start);
  require_close(gpu, cpu, tolerance<Scalar>());
}

TEMPLATE_TEST_CASE("dominant rows (p > 1/2) use the same stable forms as the CPU",
                   "[gpu][cuda][contrastive]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  const bool top_is_negative = GENERATE(false, true);
  INFO(name(algorithm) << (top_is_negative ? ", dominant negative" : ", dominant positive"));
  const Index batch = 40;
  const auto f = ccl::testing::random_matrix<Scalar>(batch, 8, 7);
  RowMatrix<Scalar> g = f;
  if (top_is_negative) {
    // g_j = f_{j+1}: every anchor's best match is another row, with another label.
    for (Index j = 0; j < batch; ++j) g.row(j) = f.row((j + 1) % batch);
  }
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (Index i = 0; i < batch; ++i) labels[std::size_t(i)] = int(i % 2 == 0 ? i : i - 1);
  ContrastiveOptions options;
  options.temperature = 0.02;  // p_top ≈ 1: 1 - p_top underflows without the stable forms
  const RowMatrix<Scalar> start = RowMatrix<Scalar>::Zero(batch, 8);
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto cpu = on_cpu(MultiClassNce<Scalar>(options), f, g, labels, Scalar(1), start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<Scalar, ccl::cuda>(options), f, g, labels, Scalar(1), start);
  REQUIRE(std::isfinite(gpu.value));
  require_close(gpu, cpu, tolerance<Scalar>());
}

TEST_CASE("TF32 similarities stay within the stated tolerance", "[gpu][cuda][contrastive][tf32]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  INFO(name(algorithm));
  const auto f = ccl::testing::random_matrix<float>(96, 64, 31);
  const auto g = ccl::testing::random_matrix<float>(96, 64, 32);
  const auto labels = labels_with_classes(96, 6, 33);
  const RowMatrix<float> start = RowMatrix<float>::Zero(96, 64);
  const ccl::Execution<ccl::cuda> execution = with(algorithm, /*tf32=*/true);
  const auto cpu = on_cpu(MultiClassNce<float>(0.5), f, g, labels, 1.0f, start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<float, ccl::cuda>(0.5), f, g, labels, 1.0f, start);
  require_close(gpu, cpu, tolerance<float>(/*tf32=*/true));
}

TEST_CASE("cuBLAS tiles of any height give the same result", "[gpu][cuda][contrastive]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const Index tile = GENERATE(Index(1), Index(5), Index(64), Index(0));
  INFO("tile_rows " << tile);
  const auto f = ccl::testing::random_matrix<double>(70, 9, 41);
  const auto g = ccl::testing::random_matrix<double>(70, 9, 42);
  const auto labels = labels_with_classes(70, 5, 43);
  ContrastiveOptions options;
  options.tile_rows = tile;
  const RowMatrix<double> start = RowMatrix<double>::Zero(70, 9);
  const ccl::Execution<ccl::cuda> execution = with(ContrastiveAlgorithm::cublas);
  const auto cpu = on_cpu(MultiClassNce<double>(options), f, g, labels, 1.0, start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<double, ccl::cuda>(options), f, g, labels, 1.0, start);
  require_close(gpu, cpu, tolerance<double>());
}

TEST_CASE("only requested gradients are written; strided views are honoured",
          "[gpu][cuda][contrastive]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  INFO(name(algorithm));
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto f = ccl::testing::random_matrix<double>(20, 6, 51);
  const auto g = ccl::testing::random_matrix<double>(20, 6, 52);
  const auto labels = labels_with_classes(20, 3, 53);
  const auto start = ccl::testing::random_matrix<double>(20, 6, 54);
  const auto cpu = on_cpu(MultiClassNce<double>(0.3), f, g, labels, 2.0, start, false, true);
  const auto gpu = on_gpu(execution, MultiClassNce<double, ccl::cuda>(0.3), f, g, labels, 2.0,
                          start, false, true);
  CHECK(gpu.grad_f == start);  // not requested: untouched
  require_close(gpu, cpu, tolerance<double>());

  // f and g as the left 6 columns of [20, 10] device matrices, gradients likewise.
  RowMatrix<double> wide_f = ccl::testing::random_matrix<double>(20, 10, 55);
  RowMatrix<double> wide_g = ccl::testing::random_matrix<double>(20, 10, 56);
  wide_f.leftCols(6) = f;
  wide_g.leftCols(6) = g;
  const auto df = ccl::gpu::to_device(wide_f);
  const auto dg = ccl::gpu::to_device(wide_g);
  RowMatrix<double> wide_grad = RowMatrix<double>::Zero(20, 10);
  wide_grad.leftCols(6) = start;
  auto dgrad_f = ccl::gpu::to_device(wide_grad);
  auto dgrad_g = ccl::gpu::to_device(wide_grad);
  MultiClassNce<double, ccl::cuda> loss(0.3);
  loss.set_execution(execution);
  const double value = loss.accumulate(ccl::gpu::device_view(df.data(), 20, 6, 10),
                                       ccl::gpu::device_view(dg.data(), 20, 6, 10), labels, 2.0,
                                       ccl::gpu::mutable_device_view(dgrad_f.data(), 20, 6, 10),
                                       ccl::gpu::mutable_device_view(dgrad_g.data(), 20, 6, 10));
  const auto full = on_cpu(MultiClassNce<double>(0.3), f, g, labels, 2.0, start);
  CHECK(std::abs(value - full.value) < 1e-11);
  const RowMatrix<double> back_f = ccl::gpu::to_host(dgrad_f);
  const RowMatrix<double> back_g = ccl::gpu::to_host(dgrad_g);
  CHECK(ccl::testing::scaled_max_error(back_f.leftCols(6), full.grad_f) < 1e-10);
  CHECK(ccl::testing::scaled_max_error(back_g.leftCols(6), full.grad_g) < 1e-10);
  CHECK(back_f.rightCols(4) == RowMatrix<double>::Zero(20, 4));  // padding untouched
}

TEST_CASE("batches without negatives and bad inputs behave as on the CPU",
          "[gpu][cuda][contrastive]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  INFO(name(algorithm));
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto f = ccl::testing::random_matrix<double>(9, 4, 61);
  const auto g = ccl::testing::random_matrix<double>(9, 4, 62);
  const std::vector<int> one_class(9, 3);
  const RowMatrix<double> start = RowMatrix<double>::Zero(9, 4);
  const auto cpu = on_cpu(MultiClassNce<double>(0.5), f, g, one_class, 1.0, start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<double, ccl::cuda>(0.5), f, g, one_class, 1.0, start);
  require_close(gpu, cpu, tolerance<double>());

  ContrastiveOptions raise;
  raise.empty_negatives = EmptyNegatives::raise;
  const auto df = ccl::gpu::to_device(f);
  MultiClassNce<double, ccl::cuda> strict(raise);
  strict.set_execution(execution);
  REQUIRE_THROWS_WITH(strict.accumulate(df.view(), df.view(), one_class, 1.0, {}, {}),
                      Catch::Contains("no row has a negative"));
  MultiClassNce<double, ccl::cuda> loss(0.5);
  loss.set_execution(execution);
  REQUIRE_THROWS_WITH(loss.accumulate(df.view(), df.view(), std::vector<int>(5, 0), 1.0, {}, {}),
                      "ccl: multiclass_nce: 5 labels for a batch of 9");
  RowMatrix<double> nan_f = f;
  nan_f(2, 3) = std::numeric_limits<double>::quiet_NaN();
  const auto dnan = ccl::gpu::to_device(nan_f);
  REQUIRE_THROWS_WITH(loss.accumulate(df.view(), dnan.view(), one_class, 1.0, {}, {}),
                      "ccl: multiclass_nce: g[2, 3] = nan is not finite");
}

TEST_CASE("a larger batch: fused and cuBLAS agree with the CPU in float",
          "[gpu][cuda][contrastive][large]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  INFO(name(algorithm));
  const Index batch = 2048;
  const auto f = ccl::testing::random_matrix<float>(batch, 128, 71);
  const auto g = ccl::testing::random_matrix<float>(batch, 128, 72);
  const auto labels = labels_with_classes(batch, 51, 73);
  const RowMatrix<float> start = RowMatrix<float>::Zero(batch, 128);
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const auto cpu = on_cpu(MultiClassNce<float>(0.1), f, g, labels, 1.0f, start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<float, ccl::cuda>(0.1), f, g, labels, 1.0f, start);
  require_close(gpu, cpu, tolerance<float>());
}

TEST_CASE("edge values as on the CPU: huge finite rows, tiny temperatures, zero rows",
          "[gpu][cuda][contrastive][edge]") {
  CCL_REQUIRE_CUDA_DEVICE();
  const auto algorithm = GENERATE(ContrastiveAlgorithm::cublas, ContrastiveAlgorithm::fused);
  INFO(name(algorithm));
  const ccl::Execution<ccl::cuda> execution = with(algorithm);
  const std::vector<int> labels{0, 1, 0, 2, 1, 2};
  const RowMatrix<float> start = RowMatrix<float>::Zero(6, 5);

  // Rows whose squares overflow float (1e20, FLT_MAX) keep their direction: the same loss and
  // gradients as the CPU's scaled norm, finite, and the loss equal to that of the same rows
  // scaled down to ordinary magnitudes (the loss depends on directions only).
  RowMatrix<float> f = ccl::testing::random_matrix<float>(6, 5, 71);
  const RowMatrix<float> g = ccl::testing::random_matrix<float>(6, 5, 72);
  const RowMatrix<float> f_ordinary = f;
  f.row(1) *= 1e20f;
  f.row(4) = f.row(4) / f.row(4).cwiseAbs().maxCoeff() * std::numeric_limits<float>::max();
  const auto cpu = on_cpu(MultiClassNce<float>(0.5), f, g, labels, 1.0f, start);
  const auto gpu =
      on_gpu(execution, MultiClassNce<float, ccl::cuda>(0.5), f, g, labels, 1.0f, start);
  require_close(gpu, cpu, tolerance<float>());
  const auto ordinary = on_cpu(MultiClassNce<float>(0.5), f_ordinary, g, labels, 1.0f, start);
  CHECK(std::abs(gpu.value - ordinary.value) <= 1e-5 * std::abs(ordinary.value));
  CHECK(gpu.grad_f.allFinite());
  CHECK(gpu.grad_g.allFinite());
  CHECK(gpu.grad_g.cwiseAbs().maxCoeff() > 0);

  // 1/τ overflows float: an error before any work, not NaN.
  const auto df = ccl::gpu::to_device(f_ordinary);
  const auto dg = ccl::gpu::to_device(g);
  MultiClassNce<float, ccl::cuda> tiny(1e-39);
  tiny.set_execution(execution);
  REQUIRE_THROWS_WITH(tiny.accumulate(df.view(), dg.view(), labels, 1.0f, {}, {}),
                      Catch::Contains("too small for float"));

  // An all-zero row: F.normalize's semantics by default, an error with ZeroRows::raise.
  RowMatrix<float> zero_row = f_ordinary;
  zero_row.row(3).setZero();
  const auto clamp_cpu = on_cpu(MultiClassNce<float>(0.5), zero_row, g, labels, 1.0f, start);
  const auto clamp_gpu =
      on_gpu(execution, MultiClassNce<float, ccl::cuda>(0.5), zero_row, g, labels, 1.0f, start);
  require_close(clamp_gpu, clamp_cpu, tolerance<float>());
  ContrastiveOptions raise;
  raise.zero_rows = ccl::loss::ZeroRows::raise;
  const auto dzero = ccl::gpu::to_device(zero_row);
  MultiClassNce<float, ccl::cuda> strict(raise);
  strict.set_execution(execution);
  REQUIRE_THROWS_WITH(strict.accumulate(dzero.view(), dg.view(), labels, 1.0f, {}, {}),
                      Catch::Contains("f row 3 has norm <= 1e-12"));
}
