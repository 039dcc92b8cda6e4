// The CUDA backend's device basics: error checking, device queries, RAII buffers, streams and
// library handles, host <-> device copies, zero-copy device views and the device NaN/Inf scan.
// [host] tests need no GPU (they prove the headers compile, link and fail cleanly); [gpu] tests
// compare device results with host data.

#include <ccl/cuda.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/symmetric.hpp>
#include <ccl/pipeline/teacher.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;

TEST_CASE("every CUDA status becomes a ccl::error naming the call", "[host][cuda][error]") {
  REQUIRE_NOTHROW(CCL_CUDA_CHECK(cudaSuccess));
  REQUIRE_THROWS_AS(CCL_CUDA_CHECK(cudaErrorMemoryAllocation), ccl::error);
  REQUIRE_THROWS_WITH(CCL_CUDA_CHECK(cudaErrorMemoryAllocation),
                      Catch::Contains("cudaErrorMemoryAllocation") &&
                          Catch::Contains("CUDA call cudaErrorMemoryAllocation failed"));
  REQUIRE_THROWS_WITH(
      CCL_CUDA_CHECK(CUBLAS_STATUS_NOT_INITIALIZED),
      Catch::Contains("cuBLAS call") && Catch::Contains("CUBLAS_STATUS_NOT_INITIALIZED"));
#if defined(CCL_CUDA_HAS_CUDNN)
  REQUIRE_THROWS_WITH(CCL_CUDA_CHECK(CUDNN_STATUS_BAD_PARAM),
                      Catch::Contains("cuDNN call") && Catch::Contains("BAD_PARAM"));
#endif
}

TEST_CASE("the device query never throws and explains a missing device", "[host][cuda][device]") {
  ccl::gpu::DeviceStatus status;
  REQUIRE_NOTHROW(status = ccl::gpu::device_status());
  INFO(status.describe());
  if (status.available()) {
    CHECK(status.count > 0);
    CHECK_FALSE(ccl::gpu::device_name(0).empty());
  } else {
    CHECK(status.count == 0);
    CHECK(status.describe().rfind("no CUDA device", 0) == 0);
  }
  ccl::gpu::DeviceStatus failed{0, cudaErrorNoDevice};
  CHECK(failed.describe().find("cudaErrorNoDevice") != std::string::npos);
}

TEST_CASE("RAII types are move-only and empty objects cost no CUDA call", "[host][cuda][raii]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<ccl::gpu::DeviceBuffer<float>>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<ccl::gpu::DeviceBuffer<float>>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<ccl::gpu::Stream>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<ccl::gpu::CublasHandle>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<ccl::gpu::CublasHandle>);
#if defined(CCL_CUDA_HAS_CUDNN)
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<ccl::gpu::CudnnHandle>);
#endif
  ccl::gpu::DeviceBuffer<double> empty;
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  ccl::gpu::DeviceBuffer<double> moved(std::move(empty));
  CHECK(moved.capacity() == 0);
  ccl::gpu::DeviceMatrix<float> matrix;
  CHECK(matrix.view().empty());
  CHECK(matrix.shape() == "[0, 0]");
}

TEST_CASE("device views wrap raw pointers and refuse host memory by name", "[host][cuda][view]") {
  std::vector<float> host(12, 1.0f);
  const auto v = ccl::gpu::device_view(host.data(), 3, 4);
  STATIC_REQUIRE(
      std::is_same_v<std::remove_const_t<decltype(v)>, ccl::EmbeddingView<const float, ccl::cuda>>);
  CHECK(v.rows() == 3);
  CHECK(v.cols() == 4);
  CHECK(v.middle_rows(1, 2).data() == host.data() + 4);
  const auto strided = ccl::gpu::mutable_device_view(host.data(), 2, 4, 6);
  CHECK(strided.row_stride() == 6);
  // Ordinary host memory is not device-accessible, whether or not a driver is present.
  CHECK_FALSE(ccl::gpu::is_device_accessible(host.data()));
  REQUIRE_THROWS_WITH(ccl::gpu::require_device_memory("my_op", "f", v),
                      Catch::Contains("my_op: f (shape [3, 4]) points to host memory"));
}

TEST_CASE("device components take their execution from set_execution, not a global",
          "[host][cuda][execution]") {
  using ccl::cuda;
  using Exec = ccl::Execution<cuda>;
  // Every device component a pipeline is built from accepts an execution (ccl::set_execution
  // refuses to compile for one that does not, so a missed part cannot silently stay on the
  // default stream).
  using ccl::detail::accepts_execution;
  static_assert(accepts_execution<ccl::nn::Linear<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::Conv3d<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::BatchNorm3d<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::ReLU<float, 5, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::Dropout<float, 2, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::MaxPool<float, 3, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::GlobalAvgPool<float, 3, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::nn::Flatten<float, 3, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::compose::Residual<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::compose::Gated<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::loss::CrossEntropy<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::loss::baselines::Rkd<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::loss::baselines::Crd<float, cuda>, Exec>::value);
  static_assert(accepts_execution<ccl::optim::Sgd<float, cuda>, Exec>::value);
  // Host-only parts need none: the host has nothing to choose.
  static_assert(!accepts_execution<ccl::pipeline::teacher::Precomputed<float>, Exec>::value);

  // Building the losses touches no device, so the hand-over can be checked here. The stream stays
  // the default one: switching streams waits for the old one, which needs a device.
  Exec fused;
  fused.contrastive = ccl::gpu::ContrastiveAlgorithm::fused;
  fused.allow_tf32 = true;
  ccl::loss::MultiClassNce<float, cuda> nce(0.5);
  CHECK(nce.execution().contrastive == ccl::gpu::ContrastiveAlgorithm::cublas);
  CHECK_FALSE(nce.execution().allow_tf32);
  ccl::loss::Distill<ccl::loss::Symmetric<ccl::loss::MultiClassNce<float, cuda>>, float> distill(
      ccl::loss::symmetric(ccl::loss::MultiClassNce<float, cuda>(0.5)), 0.5);
  distill.set_execution(fused);
  CHECK(distill.execution().contrastive == ccl::gpu::ContrastiveAlgorithm::fused);
  CHECK(distill.inner().inner().execution().allow_tf32);
  // Another object keeps its own: nothing is shared through the thread.
  CHECK(nce.execution().contrastive == ccl::gpu::ContrastiveAlgorithm::cublas);
}

TEST_CASE("buffers allocate, grow only when needed, and zero", "[gpu][cuda][raii]") {
  CCL_REQUIRE_CUDA_DEVICE();
  ccl::gpu::DeviceBuffer<float> buffer(100);
  float* const first = buffer.data();
  REQUIRE(first != nullptr);
  buffer.resize(50);  // shrinking keeps the allocation
  CHECK(buffer.data() == first);
  CHECK(buffer.capacity() == 100);
  buffer.resize(100);
  buffer.zero();
  std::vector<float> back(100, 7.0f);
  CCL_CUDA_CHECK(
      cudaMemcpy(back.data(), buffer.data(), 100 * sizeof(float), cudaMemcpyDeviceToHost));
  for (float x : back) REQUIRE(x == 0.0f);
  ccl::gpu::DeviceBuffer<float> other = std::move(buffer);
  CHECK(other.data() == first);
  CHECK(buffer.data() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state
}

TEST_CASE("host <-> device copies round-trip strided views exactly", "[gpu][cuda][copy]") {
  CCL_REQUIRE_CUDA_DEVICE();
  ccl::gpu::Stream stream;
  const RowMatrix<double> big = ccl::testing::random_matrix<double>(9, 7, 11);
  // A row block with a row stride of 7 but only the first 5 columns: both sides strided.
  const ccl::EmbeddingView<const double> block(big.data() + 7 * 2, 4, 5, 7);
  ccl::gpu::DeviceMatrix<double> wide(4, 8);
  auto target = ccl::gpu::mutable_device_view(wide.data(), 4, 5, 8);
  ccl::gpu::copy(block, target, stream.get());
  RowMatrix<double> back = RowMatrix<double>::Zero(4, 5);
  ccl::gpu::copy(ccl::EmbeddingView<const double, ccl::cuda>(target), ccl::mutable_view(back),
                 stream.get());
  CHECK(back == big.block(2, 0, 4, 5));

  const RowMatrix<float> f = ccl::testing::random_matrix<float>(33, 17, 5);
  const ccl::gpu::DeviceMatrix<float> device = ccl::gpu::to_device(f);
  CHECK(device.rows() == 33);
  CHECK(ccl::gpu::to_host(device) == f);
  ccl::gpu::DeviceMatrix<float> copy(33, 17);
  ccl::gpu::copy(device.view(), copy.mutable_view());
  CHECK(ccl::gpu::to_host(copy) == f);
  RowMatrix<float> wrong(3, 3);
  REQUIRE_THROWS_WITH(ccl::gpu::copy(device.view(), ccl::mutable_view(wrong)),
                      Catch::Contains("gpu::copy: target has shape [3, 3], expected [33, 17]"));
}

TEST_CASE("row-major cuBLAS GEMM helpers match Eigen", "[gpu][cuda][cublas]") {
  CCL_REQUIRE_CUDA_DEVICE();
  ccl::gpu::CublasHandle handle;
  const RowMatrix<double> a = ccl::testing::random_matrix<double>(5, 3, 1);
  const RowMatrix<double> b = ccl::testing::random_matrix<double>(4, 3, 2);
  const auto da = ccl::gpu::to_device(a);
  const auto db = ccl::gpu::to_device(b);
  ccl::gpu::DeviceMatrix<double> c(5, 4);
  ccl::gpu::gemm_row_major<double>(handle.get(), false, true, 5, 4, 3, 2.0, da.data(), db.data(),
                                   0.0, c.data());
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(c), (2.0 * a * b.transpose()).eval()) <
        1e-14);
  ccl::gpu::DeviceMatrix<double> d(3, 3);
  ccl::gpu::gemm_row_major<double>(handle.get(), true, false, 3, 3, 5, 1.0, da.data(), da.data(),
                                   0.0, d.data());
  CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(d), (a.transpose() * a).eval()) < 1e-14);
}

TEST_CASE("the device NaN/Inf scan names the first bad element like the CPU check",
          "[gpu][cuda][checks]") {
  CCL_REQUIRE_CUDA_DEVICE();
  RowMatrix<float> x = RowMatrix<float>::Ones(6, 5);
  const auto clean = ccl::gpu::to_device(x);
  ccl::gpu::DeviceBuffer<unsigned long long> scratch;
  REQUIRE_NOTHROW(ccl::gpu::checks::finite("op", "x", clean.view(), scratch, nullptr));
  x(4, 1) = std::numeric_limits<float>::infinity();
  x(3, 2) = std::numeric_limits<float>::quiet_NaN();
  const auto bad = ccl::gpu::to_device(x);
  REQUIRE_THROWS_WITH(ccl::gpu::checks::finite("op", "x", bad.view(), scratch, nullptr),
                      "ccl: op: x[3, 2] = nan is not finite");
}

TEST_CASE("the device ops of data-parallel code equal their host versions", "[gpu][cuda][ops]") {
  CCL_REQUIRE_CUDA_DEVICE();
  using ccl::mutable_view;
  using ccl::view;
  const ccl::Execution<ccl::cuda> on_default;  // the legacy default stream, as to_device/to_host
  RowMatrix<float> x = ccl::testing::random_matrix<float>(3, 5, 31);
  x(2, 4) = 3.0e38f;
  const auto dx = ccl::gpu::to_device(x);
  // convert_into: float -> a column block of a double matrix, and back scaled.
  ccl::gpu::DeviceMatrix<double> wide(3, 7);
  wide.zero();
  ccl::convert_into(dx.view(), wide.mutable_view().middle_cols(1, 5), 1.0, on_default);
  RowMatrix<double> host_wide = RowMatrix<double>::Zero(3, 7);
  ccl::convert_into(view(x), mutable_view(host_wide).middle_cols(1, 5));
  CHECK(ccl::gpu::to_host(wide) == host_wide);
  ccl::gpu::DeviceMatrix<float> back(3, 5);
  ccl::convert_into(wide.view().middle_cols(1, 5), back.mutable_view(), 4.0, on_default);
  RowMatrix<float> host_back(3, 5);
  ccl::convert_into(view(host_wide).middle_cols(1, 5), mutable_view(host_back), 4.0);
  const RowMatrix<float> device_back = ccl::gpu::to_host(back);
  CHECK(std::isinf(device_back(2, 4)));
  CHECK(device_back.topLeftCorner(2, 5) == host_back.topLeftCorner(2, 5));
  // first_non_finite: the same flat index as the host scan.
  ccl::OpScratch<float, ccl::cuda> scratch;
  ccl::OpScratch<float, ccl::cpu> host_scratch;
  CHECK(ccl::first_non_finite(back.view(), scratch) == 2 * 5 + 4);
  CHECK(ccl::first_non_finite(view(host_back), host_scratch) == 2 * 5 + 4);
  CHECK(ccl::first_non_finite(dx.view().middle_rows(0, 2), scratch) == -1);
  // Staging copies through column blocks.
  RowMatrix<float> staged = RowMatrix<float>::Zero(3, 2);
  ccl::copy_to_host(dx.view().middle_cols(3, 2), mutable_view(staged), on_default);
  CHECK(staged == x.middleCols(3, 2));
  ccl::gpu::DeviceMatrix<float> target(3, 5);
  target.zero();
  ccl::copy_from_host(view(staged), target.mutable_view().middle_cols(0, 2), on_default);
  const RowMatrix<float> round_trip = ccl::gpu::to_host(target);
  CHECK(round_trip.leftCols(2) == x.middleCols(3, 2));
  CHECK(round_trip.rightCols(3).isZero());
}

#if defined(CCL_CUDA_HAS_CUDNN)
TEST_CASE("a cuDNN handle is created and bound to a stream", "[gpu][cuda][cudnn]") {
  CCL_REQUIRE_CUDA_DEVICE();
  ccl::gpu::CudnnHandle handle;
  ccl::gpu::Stream stream;
  REQUIRE_NOTHROW(handle.set_stream(stream));
  CHECK(ccl::gpu::cudnn_version() >= 90000);
}
#endif
