// The Table 1 baselines on the CUDA backend (KD, FitNet, PKT, COR, RKD, IFD, CRD, CMC) against
// the CPU classes, which tests/test_loss_baselines*.cpp check against loop references and finite
// differences.
//
// [gpu] tolerances (identical inputs, both backends in the same precision):
//   double: value 1e-9 relative, gradient increments 1e-9 relative to their largest entry;
//   float:  value 2e-3 relative, gradient increments 2e-3 relative to their largest entry
//           (different summation orders and cuBLAS vs Eigen GEMMs; PKT and IFD take logs of
//           ratios of probabilities that differ little between student and teacher).
//   Memory-bank losses, several steps with identical negatives: the same tolerances on values,
//   gradients and both banks; Z within the value tolerance; the generators' states equal.
// [host] checks need no device: instantiation, argument errors (same messages as the CPU),
// identical negatives drawn by both backends, and the per-element device maths
// (kernels/baselines_math.cuh) against the CPU classes.

#include <ccl/core/rng.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/loss/baselines/all.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/loss/baselines/fitnet.hpp>
#include <ccl/loss/baselines/ifd.hpp>
#include <ccl/loss/baselines/kd.hpp>
#include <ccl/loss/baselines/pkt.hpp>
#include <ccl/loss/baselines/rkd.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
namespace bl = ccl::loss::baselines;
namespace bk = ccl::gpu::kernels::baselines;

namespace {

template <class Scalar>
double tolerance() {
  return std::is_same_v<Scalar, double> ? 1e-9 : 2e-3;
}

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const ccl::error& e) {
    return e.what();
  }
  return "(no error)";
}

double relative(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-30);
}

/// `m` as the left columns of a wider matrix (the rest `fill`): device views with a row stride.
template <class Scalar>
RowMatrix<Scalar> widen(const RowMatrix<Scalar>& m, Index extra, Scalar fill = Scalar(0)) {
  RowMatrix<Scalar> wide = RowMatrix<Scalar>::Constant(m.rows(), m.cols() + extra, fill);
  wide.leftCols(m.cols()) = m;
  return wide;
}

/// Runs the CPU and CUDA pair losses on identical inputs (device inputs and gradients strided),
/// with a teacher gradient and with a frozen teacher, and compares values and the gradient
/// increments (the gradients start from non-zero values: accumulate ADDS).
/// `rounding_only`: the exact loss and gradients are 0 and both backends return rounding
/// residues (PKT and IFD at B = 1, where P = K / K); then both must merely be that small.
/// `tol`: the relative tolerance of values and gradient increments (default tolerance<Scalar>()).
template <class Scalar, class CpuLoss, class GpuLoss>
void compare_pair(CpuLoss& cpu, GpuLoss& gpu, const RowMatrix<Scalar>& s,
                  const RowMatrix<Scalar>& t, bool rounding_only = false,
                  double tol = tolerance<Scalar>()) {
  const Index b = s.rows();
  const Scalar weight = Scalar(0.7);
  // Small non-zero starting gradients: accumulate must ADD, and in float the increments (about
  // 1/B² for PKT) must stay well above the rounding of start + increment.
  const RowMatrix<Scalar> start_s = ccl::testing::random_matrix<Scalar>(b, s.cols(), 91) * Scalar(1e-3);
  const RowMatrix<Scalar> start_t = ccl::testing::random_matrix<Scalar>(b, t.cols(), 92) * Scalar(1e-3);
  const auto ds = ccl::gpu::to_device(widen(s, 3, Scalar(7)));
  const auto dt = ccl::gpu::to_device(widen(t, 5, Scalar(-7)));
  const auto vs = ccl::gpu::device_view(ds.data(), b, s.cols(), s.cols() + 3);
  const auto vt = ccl::gpu::device_view(dt.data(), b, t.cols(), t.cols() + 5);
  for (const bool frozen : {false, true}) {
    INFO("frozen teacher: " << frozen);
    RowMatrix<Scalar> gs = start_s, gt = start_t;
    const double cv = cpu.accumulate(ccl::view(s), ccl::view(t), {}, weight, ccl::mutable_view(gs),
                                     frozen ? ccl::EmbeddingView<Scalar>{} : ccl::mutable_view(gt));
    auto dgs = ccl::gpu::to_device(widen(start_s, 2, Scalar(3)));
    auto dgt = ccl::gpu::to_device(widen(start_t, 4, Scalar(3)));
    const double gv = gpu.accumulate(
        vs, vt, {}, weight, ccl::gpu::mutable_device_view(dgs.data(), b, s.cols(), s.cols() + 2),
        frozen ? ccl::EmbeddingView<Scalar, ccl::cuda>{}
               : ccl::gpu::mutable_device_view(dgt.data(), b, t.cols(), t.cols() + 4));
    INFO("cpu " << cv << ", gpu " << gv);
    const RowMatrix<Scalar> back_s = ccl::gpu::to_host(dgs);
    const RowMatrix<Scalar> back_t = ccl::gpu::to_host(dgt);
    const RowMatrix<Scalar> inc_cpu_s = gs - start_s;
    const RowMatrix<Scalar> inc_gpu_s = back_s.leftCols(s.cols()) - start_s;
    if (rounding_only) {
      const double residue = std::is_same_v<Scalar, double> ? 1e-12 : 1e-4;
      CHECK(std::abs(cv) <= residue);
      CHECK(std::abs(gv) <= residue);
      CHECK(double(inc_cpu_s.cwiseAbs().maxCoeff()) <= residue);
      CHECK(double(inc_gpu_s.cwiseAbs().maxCoeff()) <= residue);
      const RowMatrix<Scalar> inc_gpu_t = back_t.leftCols(t.cols()) - start_t;
      CHECK(double(inc_gpu_t.cwiseAbs().maxCoeff()) <= residue);
      continue;
    }
    CHECK(std::abs(gv - cv) <= tol * std::max(std::abs(cv), 1e-12));
    CHECK(ccl::testing::scaled_max_error(inc_gpu_s, inc_cpu_s, 1e-30) <= tol);
    CHECK((back_s.rightCols(2).array() == Scalar(3)).all());
    const RowMatrix<Scalar> inc_gpu_t = back_t.leftCols(t.cols()) - start_t;
    if (frozen) {
      CHECK(inc_gpu_t.cwiseAbs().maxCoeff() == Scalar(0));
    } else {
      const RowMatrix<Scalar> inc_cpu_t = gt - start_t;
      CHECK(ccl::testing::scaled_max_error(inc_gpu_t, inc_cpu_t, 1e-30) <= tol);
    }
    CHECK((back_t.rightCols(4).array() == Scalar(3)).all());
  }
}

std::vector<int> dataset_labels(Index n, int classes) {
  std::vector<int> labels(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) labels[std::size_t(i)] = int((i * 7 + 3) % classes);
  return labels;
}

/// Several accumulate steps of a CPU and a CUDA memory-bank loss built with the same seed;
/// a duplicate dataset index in step 1, a frozen teacher in step 2.
template <class Scalar, class CpuLoss, class GpuLoss>
void compare_memory_steps(CpuLoss& cpu, GpuLoss& gpu, const std::vector<int>& labels, Index dim,
                          int steps) {
  const double tol = tolerance<Scalar>();
  const Index n = Index(labels.size());
  const Index b = 6;
  CHECK(ccl::gpu::to_host(gpu.memory_student()) == cpu.memory_student());
  CHECK(ccl::gpu::to_host(gpu.memory_teacher()) == cpu.memory_teacher());
  for (int step = 0; step < steps; ++step) {
    INFO("step " << step);
    const RowMatrix<Scalar> e_s = ccl::testing::random_matrix<Scalar>(b, dim, 100 + step);
    const RowMatrix<Scalar> e_t = ccl::testing::random_matrix<Scalar>(b, dim, 200 + step);
    std::vector<Index> indices(static_cast<std::size_t>(b));
    for (Index i = 0; i < b; ++i) indices[std::size_t(i)] = (i * 13 + step * 5) % n;
    if (step == 1) indices[4] = indices[1];
    std::vector<int> batch_labels;
    for (Index i : indices) batch_labels.push_back(labels[std::size_t(i)]);
    const bool frozen = step == 2;
    const RowMatrix<Scalar> start =
        ccl::testing::random_matrix<Scalar>(b, dim, 300 + step) * Scalar(1e-3);
    RowMatrix<Scalar> gs = start, gt = start;
    const double cv = cpu.accumulate(ccl::view(e_s), ccl::view(e_t), batch_labels, indices,
                                     Scalar(0.8), ccl::mutable_view(gs),
                                     frozen ? ccl::EmbeddingView<Scalar>{} : ccl::mutable_view(gt));
    const auto des = ccl::gpu::to_device(e_s);
    const auto det = ccl::gpu::to_device(e_t);
    auto dgs = ccl::gpu::to_device(start);
    auto dgt = ccl::gpu::to_device(start);
    const double gv =
        gpu.accumulate(des.view(), det.view(), batch_labels, indices, Scalar(0.8),
                       dgs.mutable_view(),
                       frozen ? ccl::EmbeddingView<Scalar, ccl::cuda>{} : dgt.mutable_view());
    INFO("cpu " << cv << ", gpu " << gv);
    CHECK(relative(gv, cv) <= tol);
    CHECK(relative(gpu.z_student(), cpu.z_student()) <= tol);
    CHECK(relative(gpu.z_teacher(), cpu.z_teacher()) <= tol);
    CHECK(gpu.rng().state() == cpu.rng().state());  // identical negatives were drawn
    const RowMatrix<Scalar> inc_cpu = gs - start;
    const RowMatrix<Scalar> inc_gpu = ccl::gpu::to_host(dgs) - start;
    CHECK(ccl::testing::scaled_max_error(inc_gpu, inc_cpu, 1e-30) <= tol);
    const RowMatrix<Scalar> inc_gpu_t = ccl::gpu::to_host(dgt) - start;
    if (frozen) {
      CHECK(inc_gpu_t.cwiseAbs().maxCoeff() == Scalar(0));
    } else {
      const RowMatrix<Scalar> inc_cpu_t = gt - start;
      CHECK(ccl::testing::scaled_max_error(inc_gpu_t, inc_cpu_t, 1e-30) <= tol);
    }
    CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(gpu.memory_student()),
                                         cpu.memory_student(), 1e-30) <= tol);
    CHECK(ccl::testing::scaled_max_error(ccl::gpu::to_host(gpu.memory_teacher()),
                                         cpu.memory_teacher(), 1e-30) <= tol);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// [host]

TEST_CASE("CUDA baselines instantiate and reject bad input like the CPU without a device",
          "[host][cuda][baselines]") {
  std::vector<float> host(64, 0.5f);
  const auto a = ccl::gpu::device_view(host.data(), 4, 3);
  const auto wide = ccl::gpu::device_view(host.data(), 4, 5);
  const RowMatrix<float> ha = RowMatrix<float>::Constant(4, 3, 0.5f);
  const RowMatrix<float> hw = RowMatrix<float>::Constant(4, 5, 0.5f);
  const RowMatrix<float> h3 = RowMatrix<float>::Constant(3, 3, 0.5f);

  bl::FitNet<float, ccl::cuda> fitnet;
  bl::FitNet<float> fitnet_cpu;
  CHECK(message_of([&] { fitnet.accumulate(a, wide, {}, 1.0f, {}, {}); }) ==
        message_of([&] { fitnet_cpu.accumulate(ccl::view(ha), ccl::view(hw), {}, 1.0f, {}, {}); }));
  CHECK_THAT(message_of([&] { fitnet.accumulate(a, a, {}, 1.0f, {}, {}); }),
             Catch::Contains("fitnet: student (shape [4, 3]) points to host memory"));

  bl::Pkt<float, ccl::cuda> pkt;
  bl::Pkt<float> pkt_cpu;
  const auto three = ccl::gpu::device_view(host.data(), 3, 3);
  CHECK(message_of([&] { pkt.accumulate(a, three, {}, 1.0f, {}, {}); }) ==
        message_of([&] { pkt_cpu.accumulate(ccl::view(ha), ccl::view(h3), {}, 1.0f, {}, {}); }));
  bl::Rkd<double, ccl::cuda> rkd;
  CHECK_THROWS(rkd.set_angle_chunk(-1));

  bl::Ifd<double, ccl::cuda> ifd;
  bl::CorrelationCongruence<double, ccl::cuda> cor;
  bl::Kd<double, ccl::cuda> kd(4.0);
  std::vector<double> hd2(64, 0.5);
  const auto z = ccl::gpu::device_view(hd2.data(), 4, 3);
  CHECK_THAT(message_of([&] { ifd.accumulate(z, z, {}, 1.0, {}, {}); }),
             Catch::Contains("ifd: student (shape [4, 3]) points to host memory"));
  CHECK_THAT(message_of([&] { cor.accumulate(z, z, {}, 1.0, {}, {}); }),
             Catch::Contains("correlation_congruence: student (shape [4, 3]) points to host"));
  CHECK_THAT(message_of([&] { kd.accumulate(z, z, {}, 1.0, {}, {}); }),
             Catch::Contains("hinton_kd: student (shape [4, 3]) points to host memory"));
  const RowMatrix<double> hd = RowMatrix<double>::Constant(4, 3, 0.5);
  bl::Kd<double, ccl::cuda> cold(0.0);
  bl::Kd<double> cold_cpu(0.0);
  CHECK(message_of([&] { cold.accumulate(z, z, {}, 1.0, {}, {}); }) ==
        message_of([&] { cold_cpu.accumulate(ccl::view(hd), ccl::view(hd), {}, 1.0, {}, {}); }));

  // Memory-bank losses: constructor checks, index checks and the sampler are host work.
  const std::vector<int> labels = dataset_labels(20, 4);
  bl::CrdOptions bad;
  bad.negatives = 0;
  CHECK(message_of([&] { bl::Crd<float, ccl::cuda>(8, labels, bad, 1); }) ==
        message_of([&] { bl::Crd<float>(8, labels, bad, 1); }));
  bad = {};
  bad.momentum = 1.0;
  CHECK(message_of([&] { bl::Cmc<float, ccl::cuda>(8, 20, bl::CmcOptions{}, 1); }) ==
        "(no error)");
  CHECK(message_of([&] { bl::Crd<float, ccl::cuda>(8, labels, bad, 1); }) ==
        message_of([&] { bl::Crd<float>(8, labels, bad, 1); }));
  bl::Crd<float, ccl::cuda> crd(8, labels, {}, 1);
  bl::Crd<float> crd_cpu(8, labels, {}, 1);
  const std::vector<Index> outside{3, 20};
  CHECK(message_of([&] { crd.sample(outside); }) == message_of([&] { crd_cpu.sample(outside); }));
  const auto narrow = ccl::gpu::device_view(host.data(), 2, 7);
  const std::vector<Index> idx{3, 5};
  CHECK_THAT(message_of([&] { crd.accumulate(narrow, narrow, {}, idx, 1.0f, {}, {}); }),
             Catch::Contains("crd: embeddings have shape [2, 7], expected width 8"));
}

TEST_CASE("CUDA CRD and CMC draw the CPU's negatives from the same seed", "[host][cuda][baselines]") {
  const std::vector<int> labels = dataset_labels(60, 5);
  for (const Index k : {Index(7), Index(100)}) {  // without and with replacement
    bl::CrdOptions options;
    options.negatives = k;
    bl::Crd<float> cpu(8, labels, options, 42);
    bl::Crd<float, ccl::cuda> gpu(8, labels, options, 42);
    bl::CmcOptions cmc_options;
    cmc_options.negatives = k;
    bl::Cmc<double> cmc_cpu(8, 60, cmc_options, 43);
    bl::Cmc<double, ccl::cuda> cmc_gpu(8, 60, cmc_options, 43);
    for (int step = 0; step < 3; ++step) {
      const std::vector<Index> indices{Index(step), 17, 59, 17};
      CHECK(gpu.sample(indices) == cpu.sample(indices));
      CHECK(cmc_gpu.sample(indices) == cmc_cpu.sample(indices));
    }
    CHECK(gpu.rng().state() == cpu.rng().state());
    CHECK(cmc_gpu.rng().state() == cmc_cpu.rng().state());
  }
}

TEST_CASE("the device maths of PKT and IFD reproduces the CPU values", "[host][cuda][baselines]") {
  const Index b = 9;
  const RowMatrix<double> s = ccl::testing::random_matrix<double>(b, 6, 1);
  const RowMatrix<double> t = ccl::testing::random_matrix<double>(b, 11, 2);
  using Kernel = bl::detail::Kernel;
  bl::detail::ConditionalProbabilities<double> ps, pt;
  const double inv_b2 = 1.0 / double(b * b);
  ps.forward(ccl::view(s), Kernel::cosine, 1e-7);
  pt.forward(ccl::view(t), Kernel::cosine, 1e-7);
  double pkt = 0;
  for (Index i = 0; i < b; ++i)
    for (Index j = 0; j < b; ++j) pkt += bk::pkt_terms(ps.p()(i, j), pt.p()(i, j), 1e-7, inv_b2).value;
  bl::Pkt<double> pkt_cpu;
  CHECK(relative(pkt * inv_b2, pkt_cpu(ccl::view(s), ccl::view(t)).value) <= 1e-12);

  double ifd = 0;
  const double tiny = std::numeric_limits<double>::min();
  for (const Kernel kernel : {Kernel::cosine, Kernel::student_t}) {
    ps.forward(ccl::view(s), kernel, 1e-6);
    pt.forward(ccl::view(t), kernel, 1e-6);
    for (Index i = 0; i < b; ++i)
      for (Index j = 0; j < b; ++j)
        ifd += bk::ifd_terms(ps.p()(i, j), pt.p()(i, j), tiny, inv_b2).value * inv_b2;
  }
  bl::Ifd<double> ifd_cpu;
  CHECK(relative(ifd, ifd_cpu(ccl::view(s), ccl::view(t)).value) <= 1e-12);

  // The Student-t kernel from a squared distance, against the CPU's P on a 2-row batch.
  const RowMatrix<double> two = ccl::testing::random_matrix<double>(2, 4, 3);
  ps.forward(ccl::view(two), Kernel::student_t, 1e-6);
  const double sq = (two.row(0) - two.row(1)).squaredNorm();
  const double k01 = bk::student_t_kernel(sq, 1e-6);
  const double k00 = bk::student_t_kernel(0.0, 1e-6);
  CHECK(std::abs(ps.p()(0, 1) - k01 / (k00 + k01)) <= 1e-12);
}

TEST_CASE("the device maths of RKD and the NCE objective reproduces the CPU",
          "[host][cuda][baselines]") {
  for (double x = -3.0; x <= 3.0; x += 0.125) {
    CHECK(bk::smooth_l1(x) == bl::detail::smooth_l1(x));
    CHECK(bk::smooth_l1_grad(x) == bl::detail::smooth_l1_grad(x));
  }
  CHECK(bl::detail::rkd_angle_chunk(64, 512) == 64);
  CHECK(bl::detail::rkd_angle_chunk(4096, 4096) == 1);

  // CRD's NCE value from nce_terms over host logits, with Z fixed, against Crd::score.
  const std::vector<int> labels = dataset_labels(40, 4);
  const Index dim = 5;
  bl::CrdOptions options;
  options.negatives = 9;
  options.temperature = 0.5;
  bl::Crd<double> crd(dim, labels, options, 3);
  crd.z_student() = 37.0;
  crd.z_teacher() = 51.0;
  const RowMatrix<double> e_s = ccl::testing::random_matrix<double>(3, dim, 4);
  const RowMatrix<double> e_t = ccl::testing::random_matrix<double>(3, dim, 5);
  const std::vector<Index> indices{1, 22, 39};
  const bl::ContrastIndices idx = crd.sample(indices);
  const double expected = crd.score(ccl::view(e_s), ccl::view(e_t), idx, 1.0, {}, {});
  const auto constants = bl::detail::nce_constants(idx.cols() - 1, 40);
  double total = 0;
  for (const bool student : {true, false}) {
    const RowMatrix<double>& e = student ? e_s : e_t;
    const RowMatrix<double>& memory = student ? crd.memory_teacher() : crd.memory_student();
    const double log_z = std::log(student ? 37.0 : 51.0);
    double side = 0;
    for (Index i = 0; i < e.rows(); ++i) {
      const auto u = e.row(i) / e.row(i).norm();
      for (Index k = 0; k < idx.cols(); ++k) {
        const double x = memory.row(idx(i, k)).dot(u) / 0.5;
        side += bk::nce_terms(x, k == 0, log_z + constants.log_c,
                              constants.log_mpn - constants.log_c)
                    .value;
      }
    }
    total += side / double(e.rows());
  }
  CHECK(relative(total, expected) <= 1e-12);
}

// ---------------------------------------------------------------------------------------------
// [gpu]

TEMPLATE_TEST_CASE("KD, FitNet and COR on the GPU match the CPU backend",
                   "[gpu][cuda][baselines]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  for (const Index b : {Index(1), Index(2), Index(16), Index(300)}) {
    INFO("B = " << b);
    const Index width = b == 300 ? 700 : 51;  // 700 > the kernels' 256 threads per row
    const RowMatrix<Scalar> s = ccl::testing::random_matrix<Scalar>(b, width, 10 + b);
    const RowMatrix<Scalar> t = ccl::testing::random_matrix<Scalar>(b, width, 20 + b) * Scalar(3);
    bl::Kd<Scalar> kd_cpu(4.0);
    bl::Kd<Scalar, ccl::cuda> kd_gpu(4.0);
    compare_pair<Scalar>(kd_cpu, kd_gpu, s, t);
    bl::FitNet<Scalar> fitnet_cpu;
    bl::FitNet<Scalar, ccl::cuda> fitnet_gpu;
    compare_pair<Scalar>(fitnet_cpu, fitnet_gpu, s, t);
    bl::CorrelationCongruence<Scalar> cor_cpu;
    bl::CorrelationCongruence<Scalar, ccl::cuda> cor_gpu;
    compare_pair<Scalar>(cor_cpu, cor_gpu, s, t);
  }
}

TEMPLATE_TEST_CASE("PKT and IFD on the GPU match the CPU backend", "[gpu][cuda][baselines]",
                   float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  for (const Index b : {Index(1), Index(5), Index(16), Index(200)}) {
    INFO("B = " << b);
    // Different widths (relational losses), a ReLU'd teacher as in the cross-modal setting.
    const RowMatrix<Scalar> s = ccl::testing::random_matrix<Scalar>(b, 24, 30 + b);
    const RowMatrix<Scalar> t =
        ccl::testing::random_matrix<Scalar>(b, 40, 40 + b).cwiseMax(Scalar(0));
    bl::Pkt<Scalar> pkt_cpu;
    bl::Pkt<Scalar, ccl::cuda> pkt_gpu;
    compare_pair<Scalar>(pkt_cpu, pkt_gpu, s, t, b == 1);
    for (const bl::IfdKernels kernels :
         {bl::IfdKernels::combined, bl::IfdKernels::cosine, bl::IfdKernels::student_t}) {
      INFO("IFD kernels " << int(kernels));
      bl::IfdOptions options;
      options.kernels = kernels;
      bl::Ifd<Scalar> ifd_cpu(options);
      bl::Ifd<Scalar, ccl::cuda> ifd_gpu(options);
      // IFD's gradients cancel heavily (differences of kernel values summed over B² pairs): the
      // CPU's own float gradients differ from its double ones by up to 6e-3 of their largest
      // entry here (student-t and combined kernels, B = 5..200), so two float summation orders
      // can differ by about twice that. Double is checked at 1e-9.
      const double tol = std::is_same_v<Scalar, float> ? 2e-2 : tolerance<Scalar>();
      compare_pair<Scalar>(ifd_cpu, ifd_gpu, s, t, b == 1, tol);
    }
  }
}

TEMPLATE_TEST_CASE("RKD on the GPU matches the CPU backend", "[gpu][cuda][baselines]", float,
                   double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  for (const Index b : {Index(1), Index(3), Index(16), Index(70)}) {
    INFO("B = " << b);
    const RowMatrix<Scalar> s = ccl::testing::random_matrix<Scalar>(b, 24, 50 + b);
    RowMatrix<Scalar> t = ccl::testing::random_matrix<Scalar>(b, 40, 60 + b);
    // A duplicate teacher row (clamped distance and direction) in double only: in float the
    // Gram-based squared distance of equal rows is a rounding residue above the 1e-12 clamp on
    // either backend, and its gradient (∝ 1/d) depends on how each GEMM rounded.
    if (b > 3 && std::is_same_v<Scalar, double>) t.row(2) = t.row(1);
    for (const Index chunk : {Index(0), Index(4)}) {  // automatic (one chunk) and several chunks
      INFO("angle chunk " << chunk);
      bl::Rkd<Scalar> rkd_cpu;
      bl::Rkd<Scalar, ccl::cuda> rkd_gpu;
      rkd_gpu.set_angle_chunk(chunk);
      compare_pair<Scalar>(rkd_cpu, rkd_gpu, s, t);
      const double tol = tolerance<Scalar>();
      CHECK(std::abs(rkd_gpu.terms().distance - rkd_cpu.terms().distance) <=
            tol * std::max(double(std::abs(rkd_cpu.terms().distance)), 1e-12));
      CHECK(std::abs(rkd_gpu.terms().angle - rkd_cpu.terms().angle) <=
            tol * std::max(double(std::abs(rkd_cpu.terms().angle)), 1e-12));
    }
  }
}

TEMPLATE_TEST_CASE("CRD on the GPU matches the CPU over several steps with identical negatives",
                   "[gpu][cuda][baselines]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const Index dim = 8;
  // (N, K): the CPU's whole-bank GEMM path (K + 1 >= N/4), its gathered path, K > others.
  for (const auto& [n, k] : std::vector<std::pair<Index, Index>>{{50, 12}, {200, 12}, {50, 60}}) {
    INFO("N = " << n << ", K = " << k);
    const std::vector<int> labels = dataset_labels(n, 5);
    bl::CrdOptions options;
    options.negatives = k;
    bl::Crd<Scalar> cpu(dim, labels, options, 7);
    bl::Crd<Scalar, ccl::cuda> gpu(dim, labels, options, 7);
    compare_memory_steps<Scalar>(cpu, gpu, labels, dim, 4);

    // The state moves between backends: the GPU's state (banks downloaded) is loaded into a
    // fresh CPU loss and uploaded into a fresh CUDA loss (other seeds), and both continue alike.
    const bl::MemoryBankState<Scalar> state = gpu.state();
    CHECK(state.rng_state == cpu.rng().state());
    bl::Crd<Scalar> resumed(dim, labels, options, 99);
    resumed.load_state(state);
    bl::Crd<Scalar, ccl::cuda> resumed_gpu(dim, labels, options, 98);
    resumed_gpu.load_state(state);
    CHECK(resumed_gpu.z_student() == gpu.z_student());
    CHECK(ccl::gpu::to_host(resumed_gpu.memory_teacher()) == state.memory_teacher);
    compare_memory_steps<Scalar>(resumed, resumed_gpu, labels, dim, 2);
  }
  // The defaults (K = 16384 > N, so with replacement) and a width that is not a multiple of the
  // kernels' 32 lanes.
  const std::vector<int> labels = dataset_labels(500, 51);
  bl::Crd<Scalar> cpu(40, labels, {}, 5);
  bl::Crd<Scalar, ccl::cuda> gpu(40, labels, {}, 5);
  compare_memory_steps<Scalar>(cpu, gpu, labels, 40, 3);
}

TEMPLATE_TEST_CASE("CMC on the GPU matches the CPU over several steps with identical negatives",
                   "[gpu][cuda][baselines]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const Index dim = 8;
  for (const auto objective : {bl::ContrastObjective::nce, bl::ContrastObjective::softmax}) {
    for (const auto& [n, k] : std::vector<std::pair<Index, Index>>{{50, 12}, {200, 12}, {40, 300}}) {
      INFO("objective " << int(objective) << ", N = " << n << ", K = " << k);
      const std::vector<int> labels = dataset_labels(n, 5);
      bl::CmcOptions options;
      options.negatives = k;
      options.objective = objective;
      bl::Cmc<Scalar> cpu(dim, n, options, 11);
      bl::Cmc<Scalar, ccl::cuda> gpu(dim, n, options, 11);
      compare_memory_steps<Scalar>(cpu, gpu, labels, dim, 4);
    }
  }
}

TEST_CASE("CUDA baselines report NaN inputs like the CPU", "[gpu][cuda][baselines]") {
  CCL_REQUIRE_CUDA_DEVICE();
  RowMatrix<float> s = RowMatrix<float>::Zero(4, 6);
  RowMatrix<float> t = RowMatrix<float>::Ones(4, 6);
  t(2, 1) = std::numeric_limits<float>::quiet_NaN();
  const auto ds = ccl::gpu::to_device(s);
  const auto dt = ccl::gpu::to_device(t);
  bl::Rkd<float, ccl::cuda> rkd;
  bl::Rkd<float> rkd_cpu;
  CHECK(message_of([&] { rkd.accumulate(ds.view(), dt.view(), {}, 1.0f, {}, {}); }) ==
        message_of([&] { rkd_cpu.accumulate(ccl::view(s), ccl::view(t), {}, 1.0f, {}, {}); }));
  // Option and label checks, in the CPU's order (after the inputs' own checks).
  bl::Pkt<float, ccl::cuda> pkt;
  bl::Pkt<float> pkt_cpu;
  pkt.options().eps = 0;
  pkt_cpu.options().eps = 0;
  CHECK(message_of([&] { pkt.accumulate(ds.view(), ds.view(), {}, 1.0f, {}, {}); }) ==
        message_of([&] { pkt_cpu.accumulate(ccl::view(s), ccl::view(s), {}, 1.0f, {}, {}); }));
  rkd.options().angle_weight = std::numeric_limits<double>::infinity();
  rkd_cpu.options().angle_weight = std::numeric_limits<double>::infinity();
  CHECK(message_of([&] { rkd.accumulate(ds.view(), ds.view(), {}, 1.0f, {}, {}); }) ==
        message_of([&] { rkd_cpu.accumulate(ccl::view(s), ccl::view(s), {}, 1.0f, {}, {}); }));
  const std::vector<int> labels = dataset_labels(10, 3);
  bl::Crd<float, ccl::cuda> crd(6, labels, {}, 1);
  bl::Crd<float> crd_cpu(6, labels, {}, 1);
  const std::vector<int> wrong{labels[0], labels[1], labels[2] + 1, labels[3]};
  const std::vector<Index> rows{0, 1, 2, 3};
  CHECK(message_of([&] { crd.accumulate(ds.view(), ds.view(), wrong, rows, 1.0f, {}, {}); }) ==
        message_of([&] {
          crd_cpu.accumulate(ccl::view(s), ccl::view(s), wrong, rows, 1.0f, {}, {});
        }));

  bl::Cmc<float, ccl::cuda> cmc(6, 10, bl::CmcOptions{}, 1);
  bl::Cmc<float> cmc_cpu(6, 10, bl::CmcOptions{}, 1);
  const std::vector<Index> idx{0, 1, 2, 3};
  CHECK(message_of([&] { cmc.accumulate(ds.view(), dt.view(), {}, idx, 1.0f, {}, {}); }) ==
        message_of([&] { cmc_cpu.accumulate(ccl::view(s), ccl::view(t), {}, idx, 1.0f, {}, {}); }));
}
