// nn::Linear, the row-wise ops, the compositions (Residual, Sum, ConcatLinear, Gated), the
// missing-row gather/scatter and the pair-loss wrappers (Symmetric, Distill) on the CUDA backend
// against the CPU classes on identical inputs and identical (seeded) parameters. The CPU classes
// are themselves checked against plain loops and finite differences (tests/test_linear.cpp,
// test_compose.cpp, test_loss_contrastive.cpp).
//
// Tolerances (scaled_max_error: max |gpu - cpu| / max |cpu|, one number per output):
//   double: 1e-12 for Linear, the row-wise ops and the compositions (cuBLAS vs Eigen summation
//           order only); loss wrappers 1e-11 (value) / 1e-10 (gradients), as the losses' tests
//   float : 1e-5 for Linear and the row-wise ops, 2e-5 for the compositions (two GEMMs and a
//           normalisation in a row; CUDA's expf vs Eigen's in Gated); loss wrappers 2e-5 / 2e-4
// Seeded initialisation runs on the host on both backends, so parameters must be bit-identical.
// Masks (gather/scatter) and copies are exact.

#include <ccl/compose/concat_linear.hpp>
#include <ccl/compose/gated.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/compose/sum.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/cuda.hpp>
#include <ccl/loss/detail/normalize_rows.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/symmetric.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/tensor_linear.hpp>

#include "support.cuh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using ccl::testing::random_matrix;
using ccl::testing::scaled_max_error;

namespace {

template <class Scalar>
double linear_tolerance() {
  return std::is_same_v<Scalar, double> ? 1e-12 : 1e-5;
}
template <class Scalar>
double compose_tolerance() {
  return std::is_same_v<Scalar, double> ? 1e-12 : 2e-5;
}

/// Every parameter of a device module, downloaded, in visiting order.
template <class Scalar, class Module>
std::vector<ccl::Parameter<Scalar>> download(const Module& module) {
  std::vector<ccl::Parameter<Scalar>> out;
  module.for_each_parameter([&](const ccl::Parameter<Scalar, ccl::cuda>& p) {
    ccl::Parameter<Scalar> h;
    ccl::gpu::copy_to_host(p, h, /*with_grad=*/true);
    out.push_back(std::move(h));
  });
  return out;
}

template <class Scalar, class Module>
std::vector<const ccl::Parameter<Scalar>*> host_parameters(const Module& module) {
  std::vector<const ccl::Parameter<Scalar>*> out;
  module.for_each_parameter([&](const ccl::Parameter<Scalar>& p) { out.push_back(&p); });
  return out;
}

/// Device and host parameters: same names, identical values, gradients within `tol`.
template <class Scalar, class HostModule, class DeviceModule>
void compare_parameters(const HostModule& cpu, const DeviceModule& gpu, double tol,
                        bool values_exact) {
  const auto host = host_parameters<Scalar>(cpu);
  const auto device = download<Scalar>(gpu);
  REQUIRE(host.size() == device.size());
  for (std::size_t k = 0; k < host.size(); ++k) {
    INFO("parameter " << host[k]->name);
    CHECK(device[k].name == host[k]->name);
    if (values_exact) {
      CHECK(device[k].value == host[k]->value);
    } else {
      CHECK(scaled_max_error(device[k].value, host[k]->value) <= tol);
    }
    CHECK(scaled_max_error(device[k].grad, host[k]->grad, 1e-300) <= tol);
  }
}

}  // namespace

// ---- [host]: instantiation, traits, host-side maths and checks --------------------------------

TEST_CASE("device Linear, compositions and loss wrappers instantiate", "[host][cuda][compose]") {
  using ccl::cuda;
  namespace compose = ccl::compose;
  static_assert(compose::is_composition_v<compose::Residual<float, cuda>>);
  static_assert(compose::is_composition_v<compose::Sum<double, cuda>>);
  static_assert(compose::is_composition_v<compose::ConcatLinear<float, cuda>>);
  static_assert(compose::is_composition_v<compose::Gated<double, cuda>>);
  static_assert(compose::is_composition_v<compose::Residual<float>>, "CPU policies unchanged");
  static_assert(std::is_same_v<compose::Residual<float>::backend_type, ccl::cpu>);
  static_assert(std::is_same_v<ccl::nn::Linear<float>::backend_type, ccl::cpu>);

  // Taking the address instantiates every member (and so every kernel) for both scalars.
  [[maybe_unused]] auto lf = &ccl::nn::Linear<float, cuda>::forward;
  [[maybe_unused]] auto lb = &ccl::nn::Linear<double, cuda>::backward;
  [[maybe_unused]] auto ls = &ccl::nn::Linear<double, cuda>::set_bias;
  [[maybe_unused]] auto rf = &compose::Residual<double, cuda>::forward;
  [[maybe_unused]] auto rb = &compose::Residual<float, cuda>::backward;
  [[maybe_unused]] auto gf = &compose::Gated<float, cuda>::forward;
  [[maybe_unused]] auto gb = &compose::Gated<double, cuda>::backward;
  [[maybe_unused]] auto cf = &compose::ConcatLinear<float, cuda>::forward;
  [[maybe_unused]] auto cb = &compose::ConcatLinear<double, cuda>::backward;
  [[maybe_unused]] auto sf = &compose::Sum<float, cuda>::forward;
  [[maybe_unused]] auto sb = &compose::Sum<double, cuda>::backward;
  [[maybe_unused]] auto accumulate = &ccl::gpu::accumulate<float>;
  static_assert(ccl::nn::is_layer_v<ccl::nn::TensorLinear<float, cuda>>);
  static_assert(
      std::is_same_v<ccl::nn::layer_backend_t<ccl::nn::TensorLinear<double, cuda>>, cuda>);
  [[maybe_unused]] auto tf = &ccl::nn::TensorLinear<float, cuda>::forward;
  [[maybe_unused]] auto tb = &ccl::nn::TensorLinear<double, cuda>::backward;
  [[maybe_unused]] auto avail = &ccl::gpu::available_rows<const double>;

  using Nce = ccl::loss::MultiClassNce<float, cuda>;
  using Sym = ccl::loss::Symmetric<Nce, float>;
  static_assert(std::is_same_v<Sym::backend_type, cuda>, "the backend follows the inner loss");
  static_assert(ccl::loss::is_pair_loss_v<Nce, float, cuda>);
  static_assert(ccl::loss::is_pair_loss_v<Sym, float, cuda>);
  static_assert(!ccl::loss::is_pair_loss_v<Sym, float>, "device losses take no host views");
  static_assert(
      ccl::loss::is_pair_loss_v<ccl::loss::Symmetric<ccl::loss::MultiClassNce<float>>, float>);
  static_assert(std::is_same_v<decltype(std::declval<Sym&>()(
                                   std::declval<ccl::EmbeddingView<const float, cuda>>(),
                                   std::declval<ccl::EmbeddingView<const float, cuda>>())),
                               ccl::loss::PairLossResult<float, cuda>>);
  static_assert(std::is_same_v<decltype(ccl::loss::symmetric(Nce(0.5))), Sym>);
  using Dist = ccl::loss::Distill<ccl::loss::MultiClassNce<double, cuda>, double>;
  static_assert(
      std::is_same_v<decltype(std::declval<Dist&>()(
                         std::declval<ccl::EmbeddingView<const double, cuda>>(),
                         std::declval<ccl::EmbeddingView<const double, cuda>>(),
                         std::declval<ccl::EmbeddingView<const double, cuda>>(), ccl::LabelView{})),
                     ccl::loss::DistillResult<double, cuda>>);
  [[maybe_unused]] auto dacc = &Dist::accumulate;
  [[maybe_unused]] auto sacc =
      &ccl::loss::Symmetric<ccl::loss::MultiClassNce<double, cuda>, double>::operator();
}

TEST_CASE("wrapped device losses reject host memory with the inner loss's message",
          "[host][cuda][compose]") {
  std::vector<float> f(12, 0.5f), g(12, 0.25f);
  const auto fv = ccl::gpu::device_view(f.data(), 3, 4);
  const auto gv = ccl::gpu::device_view(g.data(), 3, 4);
  const std::vector<int> labels{0, 1, 0};
  ccl::loss::Symmetric<ccl::loss::MultiClassNce<float, ccl::cuda>, float> sym(
      ccl::loss::MultiClassNce<float, ccl::cuda>(0.5));
  REQUIRE_THROWS_WITH(sym.accumulate(fv, gv, labels, 1.0f, {}, {}),
                      Catch::Contains("multiclass_nce: f (shape [3, 4]) points to host memory"));
  ccl::loss::Distill<ccl::loss::MultiClassNce<float, ccl::cuda>, float> distill(
      ccl::loss::MultiClassNce<float, ccl::cuda>(0.5), 0.5);
  const auto short_view = ccl::gpu::device_view(g.data(), 2, 4);
  REQUIRE_THROWS_WITH(distill.accumulate(fv, short_view, gv, labels, 1.0f, {}, {}, {}),
                      Catch::Contains("distill: teacher has shape [2, 4]"));
}

TEST_CASE("row-wise device ops check shapes and indices before touching memory",
          "[host][cuda][compose]") {
  std::vector<float> a(12), b(10);
  const auto av = ccl::gpu::device_view(a.data(), 3, 4);
  auto bv = ccl::gpu::mutable_device_view(b.data(), 2, 5);
  REQUIRE_THROWS_WITH(ccl::gpu::add<float>(av, av, bv, nullptr),
                      Catch::Contains("gpu::add: out has shape [2, 5]"));
  REQUIRE_THROWS_WITH(av.middle_cols(2, 3), Catch::Contains("EmbeddingView: columns [2, 5)"));
  const auto block = av.middle_cols(1, 2);
  CHECK(block.data() == a.data() + 1);
  CHECK(block.row_stride() == 4);
  CHECK(block.cols() == 2);
  REQUIRE_THROWS_WITH(ccl::gpu::gather_rows<float>(av, {0, 3}, bv, nullptr),
                      "ccl: gather_rows: row index 3 (entry 1) is outside a batch of 3");
  REQUIRE_THROWS_WITH(ccl::gpu::scatter_add_rows<float>(av, {0, 1, 2}, bv, nullptr),
                      Catch::Contains("scatter_add_rows: row index 2 (entry 2)"));
  REQUIRE_THROWS_WITH(
      ccl::gpu::accumulate<float>(av, ccl::gpu::mutable_device_view(a.data(), 3, 4), 1.0f, nullptr),
      Catch::Contains("gpu::accumulate: x (shape [3, 4]) points to host memory"));
}

TEMPLATE_TEST_CASE("Gated's device formulas equal the CPU's Eigen expressions", "[host][cuda]",
                   float, double) {
  using Scalar = TestType;
  namespace k = ccl::gpu::kernels;
  const Index n = 257;
  RowMatrix<Scalar> a = random_matrix<Scalar>(1, n, 1) * Scalar(6);
  a(0, 0) = Scalar(-90);  // saturated gate: e^{90} overflows float, σ must still be 0
  a(0, 1) = Scalar(90);
  const RowMatrix<Scalar> t = random_matrix<Scalar>(1, n, 2), v = random_matrix<Scalar>(1, n, 3),
                          d = random_matrix<Scalar>(1, n, 4);
  // The CPU expressions of compose/gated.hpp.
  const RowMatrix<Scalar> g = (1 + (-a.array()).exp()).inverse().matrix();
  const RowMatrix<Scalar> mix = (g.array() * t.array() + (1 - g.array()) * v.array()).matrix();
  const RowMatrix<Scalar> grad_a =
      (d.array() * (t.array() - v.array()) * g.array() * (1 - g.array())).matrix();
  const double exp_tol = std::is_same_v<Scalar, double> ? 1e-15 : 1e-6;
  for (Index j = 0; j < n; ++j) {
    INFO("element " << j << ", a = " << a(0, j));
    const Scalar gj = k::gate_sigmoid(a(0, j));
    REQUIRE(std::isfinite(gj));
    // exp is Eigen's vectorised polynomial on the CPU and libm/CUDA's here: a few ulps.
    CHECK(std::abs(double(gj) - double(g(0, j))) <= exp_tol);
    // Given the same gate, the rest is the same IEEE operations in the same order: exact.
    CHECK(k::gate_mix(g(0, j), t(0, j), v(0, j)) == mix(0, j));
    CHECK(k::gate_pre_activation_gradient(d(0, j), g(0, j), t(0, j), v(0, j)) == grad_a(0, j));
  }
  CHECK(k::gate_sigmoid(Scalar(-90)) < Scalar(1e-30));
  CHECK(k::gate_sigmoid(Scalar(90)) == Scalar(1));
}

// ---- [gpu]: comparisons with the CPU classes ---------------------------------------------------

TEMPLATE_TEST_CASE("device Linear matches the CPU Linear", "[gpu][cuda][linear]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  using ccl::nn::Linear;
  using ccl::nn::ParameterGradients;
  const double tol = linear_tolerance<Scalar>();
  const auto dims = GENERATE(std::make_tuple(Index(1), Index(5), Index(3)),
                             std::make_tuple(Index(7), Index(64), Index(51)),
                             std::make_tuple(Index(300), Index(130), Index(257)));
  const bool bias = GENERATE(true, false);
  const Index batch = std::get<0>(dims), in = std::get<1>(dims), out = std::get<2>(dims);
  INFO("B " << batch << ", in " << in << ", out " << out << ", bias " << bias);

  ccl::Rng rng_cpu(42), rng_gpu(42);
  Linear<Scalar> cpu(in, out, rng_cpu, bias);
  Linear<Scalar, ccl::cuda> gpu(in, out, rng_gpu, bias);
  compare_parameters<Scalar>(cpu, gpu, 0.0, /*values_exact=*/true);

  // x as the left columns of a wider matrix: a strided device view.
  const RowMatrix<Scalar> x = random_matrix<Scalar>(batch, in, 7);
  RowMatrix<Scalar> wide = RowMatrix<Scalar>::Zero(batch, in + 3);
  wide.leftCols(in) = x;
  const auto wide_d = ccl::gpu::to_device(wide);
  const auto xd = ccl::gpu::device_view(wide_d.data(), batch, in, in + 3);

  const RowMatrix<Scalar>& y_cpu = cpu.forward(ccl::view(x));
  const RowMatrix<Scalar> y_gpu = ccl::gpu::to_host(gpu.forward(xd));
  CHECK(scaled_max_error(y_gpu, y_cpu) <= tol);

  // Backward twice (parameter gradients accumulate), into a strided, non-zero grad_x.
  const RowMatrix<Scalar> dy = random_matrix<Scalar>(batch, out, 8);
  const RowMatrix<Scalar> dx0 = random_matrix<Scalar>(batch, in, 9);
  RowMatrix<Scalar> dx_cpu = dx0;
  cpu.backward(ccl::view(dy), ccl::mutable_view(dx_cpu));
  cpu.backward(ccl::view(dy), {});
  RowMatrix<Scalar> dx_wide = RowMatrix<Scalar>::Zero(batch, in + 2);
  dx_wide.leftCols(in) = dx0;
  auto dx_d = ccl::gpu::to_device(dx_wide);
  const auto dy_d = ccl::gpu::to_device(dy);
  gpu.backward(dy_d.view(), ccl::gpu::mutable_device_view(dx_d.data(), batch, in, in + 2));
  gpu.backward(dy_d.view(), {});
  const RowMatrix<Scalar> dx_back = ccl::gpu::to_host(dx_d);
  CHECK(scaled_max_error(RowMatrix<Scalar>(dx_back.leftCols(in)), dx_cpu) <= tol);
  CHECK(dx_back.rightCols(2).isZero(0));  // the padding is never written
  compare_parameters<Scalar>(cpu, gpu, tol, /*values_exact=*/true);

  // skip: inputs only, parameter gradients untouched.
  gpu.zero_grad();
  auto dx2 = ccl::gpu::to_device(RowMatrix<Scalar>(RowMatrix<Scalar>::Zero(batch, in)));
  gpu.backward(dy_d.view(), dx2.mutable_view(), ParameterGradients::skip);
  for (const auto& p : download<Scalar>(gpu)) CHECK(p.grad.isZero(0));
  RowMatrix<Scalar> dx_ref = RowMatrix<Scalar>::Zero(batch, in);
  cpu.backward(ccl::view(dy), ccl::mutable_view(dx_ref), ParameterGradients::skip);
  CHECK(scaled_max_error(ccl::gpu::to_host(dx2), dx_ref) <= tol);
}

TEST_CASE("device Linear: setters, copies and errors", "[gpu][cuda][linear]") {
  CCL_REQUIRE_CUDA_DEVICE();
  using ccl::nn::Linear;
  Linear<float> cpu(4, 3);
  ccl::Rng rng(3);
  cpu.reset_parameters(rng);
  Linear<float, ccl::cuda> gpu(4, 3);
  ccl::gpu::copy_parameters(cpu, gpu);
  compare_parameters<float>(cpu, gpu, 0.0, true);

  // set_weight / set_bias from device memory, bias as a row or as a strided column.
  const RowMatrix<float> w = random_matrix<float>(3, 4, 1);
  gpu.set_weight(ccl::gpu::to_device(w).view());
  RowMatrix<float> column = RowMatrix<float>::Zero(3, 2);
  column.col(0) << 1.f, 2.f, 3.f;
  const auto column_d = ccl::gpu::to_device(column);
  gpu.set_bias(ccl::gpu::device_view(column_d.data(), 3, 1, 2));
  Linear<float> back(4, 3);
  ccl::gpu::copy_parameters_to_host(gpu, back);
  CHECK(back.weight().value == w);
  CHECK(back.bias().value == RowMatrix<float>(column.col(0).transpose()));

  std::vector<float> host(8, 1.f);
  REQUIRE_THROWS_WITH(gpu.forward(ccl::gpu::device_view(host.data(), 2, 4)),
                      Catch::Contains("Linear::forward: x (shape [2, 4]) points to host memory"));
  const auto x_bad = ccl::gpu::to_device(RowMatrix<float>(RowMatrix<float>::Ones(2, 5)));
  REQUIRE_THROWS_WITH(gpu.forward(x_bad.view()),
                      "ccl: Linear::forward: x has shape [2, 5], expected [2, 4] "
                      "(in_features = 4)");
  Linear<float, ccl::cuda> fresh(4, 3);
  const auto dy = ccl::gpu::to_device(RowMatrix<float>(RowMatrix<float>::Ones(2, 3)));
  REQUIRE_THROWS_WITH(fresh.backward(dy.view()), "ccl: Linear::backward: called before forward");
  RowMatrix<float> x_nan = RowMatrix<float>::Ones(2, 4);
  x_nan(1, 2) = std::nanf("");
  REQUIRE_THROWS_WITH(gpu.forward(ccl::gpu::to_device(x_nan).view()),
                      "ccl: Linear::forward: x[1, 2] = nan is not finite");
  ccl::compose::Sum<float, ccl::cuda> other(4, 4, 3);
  REQUIRE_THROWS_WITH(ccl::gpu::copy_parameters(cpu, other),
                      Catch::Contains("gpu::copy_parameters: parameter 0 is 'weight' [3, 4] on the "
                                      "host but 'classifier.weight' [3, 4] on the device"));
}

TEMPLATE_TEST_CASE("device TensorLinear matches the CPU adapter", "[gpu][cuda][linear]", float,
                   double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const double tol = linear_tolerance<Scalar>();
  ccl::Rng rng_cpu(4), rng_gpu(4);
  ccl::nn::TensorLinear<Scalar> cpu(ccl::nn::Linear<Scalar>(20, 9, rng_cpu));
  ccl::nn::TensorLinear<Scalar, ccl::cuda> gpu(ccl::nn::Linear<Scalar, ccl::cuda>(20, 9, rng_gpu));
  CHECK(gpu.in_channels() == 20);
  CHECK(gpu.out_channels() == 9);
  ccl::nn::Tensor<Scalar, 2> x({6, 20});
  x.matrix() = random_matrix<Scalar>(6, 20, 1);
  const auto xd = ccl::gpu::to_device(x);
  const auto& y_cpu = cpu.forward(x);
  const auto y_gpu = ccl::gpu::to_host(gpu.forward(xd));
  CHECK(scaled_max_error(y_gpu.matrix(), y_cpu.matrix()) <= tol);
  ccl::nn::Tensor<Scalar, 2> dy({6, 9});
  dy.matrix() = random_matrix<Scalar>(6, 9, 2);
  ccl::nn::Tensor<Scalar, 2> dx({6, 20});
  dx.matrix().setZero();
  auto dxd = ccl::gpu::to_device(dx);
  cpu.backward(dy, &dx);
  gpu.backward(ccl::gpu::to_device(dy), &dxd);
  CHECK(scaled_max_error(ccl::gpu::to_host(dxd).matrix(), dx.matrix()) <= tol);
  compare_parameters<Scalar>(cpu.linear(), gpu.linear(), tol, true);
}

TEMPLATE_TEST_CASE("row-wise device ops match the CPU", "[gpu][cuda][compose]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const double tol = linear_tolerance<Scalar>();
  const Index rows = 37, cols = 45;
  RowMatrix<Scalar> a = random_matrix<Scalar>(rows, cols, 1),
                    b = random_matrix<Scalar>(rows, cols, 2);
  a.row(3).setZero();  // a clamped norm in the normalisation
  const auto ad = ccl::gpu::to_device(a), bd = ccl::gpu::to_device(b);
  ccl::gpu::DeviceMatrix<Scalar> out(rows, cols);
  ccl::gpu::add<Scalar>(ad.view(), bd.view(), out.mutable_view());
  CHECK(ccl::gpu::to_host(out) == RowMatrix<Scalar>(a + b));
  ccl::gpu::accumulate<Scalar>(ad.view(), out.mutable_view(), Scalar(0.5));
  CHECK(ccl::gpu::to_host(out) == RowMatrix<Scalar>((a + b).array() + Scalar(0.5) * a.array()));
  ccl::gpu::DeviceMatrix<Scalar> concat;
  ccl::gpu::concat_columns<Scalar>(ad.view(), bd.view().middle_cols(0, 5), concat);
  RowMatrix<Scalar> concat_ref(rows, cols + 5);
  concat_ref << a, b.leftCols(5);
  CHECK(ccl::gpu::to_host(concat) == concat_ref);

  ccl::gpu::DeviceMatrix<Scalar> unit;
  ccl::gpu::DeviceBuffer<Scalar> norms;
  ccl::gpu::normalize_rows<Scalar>(ad.view(), unit, norms);
  RowMatrix<Scalar> unit_ref;
  ccl::Vector<Scalar> norms_ref;
  ccl::loss::detail::normalize_rows(ccl::view(a), unit_ref, norms_ref);
  CHECK(scaled_max_error(ccl::gpu::to_host(unit), unit_ref) <= tol);
  const auto gu = ccl::gpu::to_device(b);
  auto gx = ccl::gpu::to_device(a);
  ccl::gpu::normalize_rows_backward<Scalar>(unit, norms, gu, Scalar(2), gx.mutable_view());
  RowMatrix<Scalar> gx_ref = a;
  ccl::loss::detail::normalize_rows_backward(unit_ref, norms_ref, b, Scalar(2),
                                             ccl::mutable_view(gx_ref));
  // Row 3 was clamped (gradient scaled by 1/eps ~ 1e12): compared on its own, then the others.
  RowMatrix<Scalar> gx_back = ccl::gpu::to_host(gx);
  CHECK(scaled_max_error(RowMatrix<Scalar>(gx_back.row(3)), RowMatrix<Scalar>(gx_ref.row(3))) <=
        tol);
  gx_back.row(3).setZero();
  gx_ref.row(3).setZero();
  CHECK(scaled_max_error(gx_back, gx_ref) <= tol);
}

namespace {

enum class Policy { residual, sum, concat_linear, gated };

template <Policy P, class Scalar, class Backend>
auto make_policy(Index dt, Index dv, Index classes, ccl::Rng& rng, bool normalize) {
  namespace compose = ccl::compose;
  if constexpr (P == Policy::residual) {
    compose::ResidualOptions o;
    o.normalize = normalize;
    return compose::Residual<Scalar, Backend>(dt, dv, classes, rng, o);
  } else if constexpr (P == Policy::sum) {
    return compose::Sum<Scalar, Backend>(dt, dt, classes, rng);
  } else if constexpr (P == Policy::concat_linear) {
    compose::ConcatLinearOptions o;
    o.normalize = normalize;
    o.composed_dim = dt + 3;
    return compose::ConcatLinear<Scalar, Backend>(dt, dv, classes, rng, o);
  } else {
    compose::GatedOptions o;
    o.normalize = normalize;
    return compose::Gated<Scalar, Backend>(dt, dt, classes, rng, o);
  }
}

/// Which gradients a backward call gets.
struct Routing {
  bool composed, logits, student, teacher;
  ccl::nn::ParameterGradients mode;
};

template <Policy P, class Scalar>
void compare_composition(Index batch, bool normalize, const Routing& r) {
  const double tol = compose_tolerance<Scalar>();
  const Index dt = 24, dv = (P == Policy::residual || P == Policy::concat_linear) ? 16 : 24;
  const Index classes = 7;
  ccl::Rng rng_cpu(11), rng_gpu(11);
  auto cpu = make_policy<P, Scalar, ccl::cpu>(dt, dv, classes, rng_cpu, normalize);
  auto gpu = make_policy<P, Scalar, ccl::cuda>(dt, dv, classes, rng_gpu, normalize);
  compare_parameters<Scalar>(cpu, gpu, 0.0, true);
  const Index dc = cpu.composed_dim();

  const RowMatrix<Scalar> t = random_matrix<Scalar>(batch, dt, 1) * Scalar(3);
  const RowMatrix<Scalar> v = random_matrix<Scalar>(batch, dv, 2);
  const auto td = ccl::gpu::to_device(t), vd = ccl::gpu::to_device(v);
  const auto out_cpu = cpu.forward(ccl::view(t), ccl::view(v));
  const auto out_gpu = gpu.forward(td.view(), vd.view());
  CHECK(scaled_max_error(ccl::gpu::to_host(out_gpu.composed), out_cpu.composed.matrix()) <= tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(out_gpu.logits), out_cpu.logits.matrix()) <= tol);

  const RowMatrix<Scalar> gc = random_matrix<Scalar>(batch, dc, 3);
  const RowMatrix<Scalar> gl = random_matrix<Scalar>(batch, classes, 4);
  RowMatrix<Scalar> gs_cpu = random_matrix<Scalar>(batch, dv, 5);
  RowMatrix<Scalar> gt_cpu = random_matrix<Scalar>(batch, dt, 6);
  const auto gcd = ccl::gpu::to_device(gc), gld = ccl::gpu::to_device(gl);
  auto gsd = ccl::gpu::to_device(gs_cpu), gtd = ccl::gpu::to_device(gt_cpu);
  cpu.backward(r.composed ? ccl::view(gc) : ccl::EmbeddingView<const Scalar>{},
               r.logits ? ccl::view(gl) : ccl::EmbeddingView<const Scalar>{},
               r.student ? ccl::mutable_view(gs_cpu) : ccl::EmbeddingView<Scalar>{},
               r.teacher ? ccl::mutable_view(gt_cpu) : ccl::EmbeddingView<Scalar>{}, r.mode);
  using ConstDevice = ccl::EmbeddingView<const Scalar, ccl::cuda>;
  using Device = ccl::EmbeddingView<Scalar, ccl::cuda>;
  gpu.backward(r.composed ? gcd.view() : ConstDevice{}, r.logits ? gld.view() : ConstDevice{},
               r.student ? gsd.mutable_view() : Device{}, r.teacher ? gtd.mutable_view() : Device{},
               r.mode);
  CHECK(scaled_max_error(ccl::gpu::to_host(gsd), gs_cpu) <= tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(gtd), gt_cpu) <= tol);
  compare_parameters<Scalar>(cpu, gpu, tol, true);
}

template <Policy P, class Scalar>
void compare_composition_cases() {
  using ccl::nn::ParameterGradients;
  const std::vector<Routing> routings{{true, true, true, true, ParameterGradients::accumulate},
                                      {true, true, true, false, ParameterGradients::accumulate},
                                      {false, true, true, false, ParameterGradients::skip},
                                      {true, false, false, true, ParameterGradients::accumulate},
                                      {false, true, false, false, ParameterGradients::accumulate}};
  for (const Index batch : {Index(1), Index(13)}) {
    for (const bool normalize : {true, false}) {
      for (std::size_t k = 0; k < routings.size(); ++k) {
        INFO("B " << batch << ", normalize " << normalize << ", routing " << k);
        compare_composition<P, Scalar>(batch, normalize, routings[k]);
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("device compositions match the CPU policies", "[gpu][cuda][compose]", float,
                   double) {
  CCL_REQUIRE_CUDA_DEVICE();
  SECTION("Residual") { compare_composition_cases<Policy::residual, TestType>(); }
  SECTION("Sum") { compare_composition_cases<Policy::sum, TestType>(); }
  SECTION("ConcatLinear") { compare_composition_cases<Policy::concat_linear, TestType>(); }
  SECTION("Gated") { compare_composition_cases<Policy::gated, TestType>(); }
}

TEST_CASE("device compositions reject bad input with the CPU's messages", "[gpu][cuda][compose]") {
  CCL_REQUIRE_CUDA_DEVICE();
  ccl::Rng rng(1);
  ccl::compose::Residual<float, ccl::cuda> head(4, 3, 5, rng);
  const auto t = ccl::gpu::to_device(RowMatrix<float>(RowMatrix<float>::Ones(2, 4)));
  const auto v = ccl::gpu::to_device(RowMatrix<float>(RowMatrix<float>::Ones(2, 3)));
  const auto v_bad = ccl::gpu::to_device(RowMatrix<float>(RowMatrix<float>::Ones(2, 4)));
  REQUIRE_THROWS_WITH(head.forward(t.view(), v_bad.view()),
                      "ccl: compose::Residual: student has shape [2, 4] but the composition was "
                      "built for student_dim = 3");
  RowMatrix<float> t_nan = RowMatrix<float>::Ones(2, 4);
  t_nan(0, 3) = INFINITY;
  REQUIRE_THROWS_WITH(head.forward(ccl::gpu::to_device(t_nan).view(), v.view()),
                      "ccl: compose::Residual: teacher[0, 3] = inf is not finite");
  REQUIRE_THROWS_WITH(head.backward({}, {}, {}),
                      "ccl: compose::Residual::backward: backward "
                      "called before forward");
  head.forward(t.view(), v.view());
  std::vector<float> host(10);
  REQUIRE_THROWS_WITH(
      head.backward({}, ccl::gpu::device_view(host.data(), 2, 5), {}),
      Catch::Contains("compose::Residual::backward: grad_logits (shape [2, 5]) points to host"));
  REQUIRE_THROWS_WITH((ccl::compose::Gated<float, ccl::cuda>(4, 3, 2)),
                      Catch::Contains("teacher_dim must equal student_dim, got 4 and 3"));
}

TEMPLATE_TEST_CASE("missing teacher rows: device gather, compose, scatter match the CPU",
                   "[gpu][cuda][compose][mask]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  const double tol = compose_tolerance<Scalar>();
  const Index batch = 11, dt = 8, dv = 6, classes = 4;
  RowMatrix<Scalar> t = random_matrix<Scalar>(batch, dt, 1);
  t.row(2).setZero();
  t.row(7).setZero();
  t(9, 0) = std::numeric_limits<Scalar>::quiet_NaN();  // present: the branch's checks report it
  const RowMatrix<Scalar> v = random_matrix<Scalar>(batch, dv, 2);
  const auto td = ccl::gpu::to_device(t), vd = ccl::gpu::to_device(v);
  const std::vector<Index> rows = ccl::available_rows(t);
  CHECK(ccl::gpu::available_rows(td.view()) == rows);
  REQUIRE(rows.size() == std::size_t(batch - 2));

  t(9, 0) = Scalar(0.5);
  const auto td2 = ccl::gpu::to_device(t);
  const RowMatrix<Scalar> tc = ccl::gather_rows(t, rows), vc = ccl::gather_rows(v, rows);
  const auto tcd = ccl::gpu::gather_rows<Scalar>(td2.view(), rows);
  const auto vcd = ccl::gpu::gather_rows<Scalar>(vd.view(), rows);
  CHECK(ccl::gpu::to_host(tcd) == tc);
  CHECK(ccl::gpu::to_host(vcd) == vc);

  ccl::Rng rng_cpu(5), rng_gpu(5);
  ccl::compose::Residual<Scalar> cpu(dt, dv, classes, rng_cpu);
  ccl::compose::Residual<Scalar, ccl::cuda> gpu(dt, dv, classes, rng_gpu);
  cpu.forward(ccl::view(tc), ccl::view(vc));
  gpu.forward(tcd.view(), vcd.view());
  const RowMatrix<Scalar> gl = random_matrix<Scalar>(Index(rows.size()), classes, 3);
  RowMatrix<Scalar> gv_compact = RowMatrix<Scalar>::Zero(Index(rows.size()), dv);
  cpu.backward({}, ccl::view(gl), ccl::mutable_view(gv_compact));
  RowMatrix<Scalar> gv_cpu = RowMatrix<Scalar>::Ones(batch, dv);
  ccl::scatter_add_rows(ccl::view(gv_compact), rows, ccl::mutable_view(gv_cpu));

  ccl::gpu::DeviceMatrix<Scalar> gv_compact_d(Index(rows.size()), dv);
  gv_compact_d.zero();
  gpu.backward({}, ccl::gpu::to_device(gl).view(), gv_compact_d.mutable_view());
  auto gv_gpu = ccl::gpu::to_device(RowMatrix<Scalar>(RowMatrix<Scalar>::Ones(batch, dv)));
  ccl::gpu::scatter_add_rows<Scalar>(gv_compact_d.view(), rows, gv_gpu.mutable_view());
  const RowMatrix<Scalar> gv_back = ccl::gpu::to_host(gv_gpu);
  CHECK(scaled_max_error(gv_back, gv_cpu) <= tol);
  CHECK((gv_back.row(2).array() == Scalar(1)).all());  // missing rows receive nothing
  CHECK((gv_back.row(7).array() == Scalar(1)).all());
  compare_parameters<Scalar>(cpu, gpu, tol, true);
}

TEMPLATE_TEST_CASE("Symmetric and Distill wrap device losses like host ones",
                   "[gpu][cuda][compose][loss]", float, double) {
  CCL_REQUIRE_CUDA_DEVICE();
  using Scalar = TestType;
  using ccl::loss::Distill;
  using ccl::loss::MultiClassNce;
  using ccl::loss::Symmetric;
  const double value_tol = std::is_same_v<Scalar, double> ? 1e-11 : 2e-5;
  const double grad_tol = std::is_same_v<Scalar, double> ? 1e-10 : 2e-4;
  const Index batch = 29, dim = 16;
  const RowMatrix<Scalar> f = random_matrix<Scalar>(batch, dim, 1);
  const RowMatrix<Scalar> g = random_matrix<Scalar>(batch, dim, 2);
  const RowMatrix<Scalar> c = random_matrix<Scalar>(batch, dim, 3);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (Index i = 0; i < batch; ++i) labels[std::size_t(i)] = int(i % 5);
  const auto fd = ccl::gpu::to_device(f), gd = ccl::gpu::to_device(g), cd = ccl::gpu::to_device(c);

  Symmetric<MultiClassNce<Scalar>, Scalar> sym_cpu(MultiClassNce<Scalar>(0.3));
  auto sym_gpu = ccl::loss::symmetric(MultiClassNce<Scalar, ccl::cuda>(0.3));
  const auto r_cpu = sym_cpu(ccl::view(f), ccl::view(g), labels);
  const auto r_gpu = sym_gpu(fd.view(), gd.view(), labels);
  CHECK(std::abs(double(r_gpu.value) - double(r_cpu.value)) <=
        value_tol * std::max(1.0, std::abs(double(r_cpu.value))));
  CHECK(scaled_max_error(ccl::gpu::to_host(r_gpu.grad_f), r_cpu.grad_f) <= grad_tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(r_gpu.grad_g), r_cpu.grad_g) <= grad_tol);

  Distill<MultiClassNce<Scalar>, Scalar> distill_cpu(MultiClassNce<Scalar>(0.3), 0.25);
  Distill<MultiClassNce<Scalar, ccl::cuda>, Scalar> distill_gpu(
      MultiClassNce<Scalar, ccl::cuda>(0.3), 0.25);
  const auto d_cpu = distill_cpu(ccl::view(f), ccl::view(g), ccl::view(c), labels);
  const auto d_gpu = distill_gpu(fd.view(), gd.view(), cd.view(), labels);
  for (const auto& [a, b] :
       {std::make_pair(d_gpu.value, d_cpu.value), std::make_pair(d_gpu.raw_term, d_cpu.raw_term),
        std::make_pair(d_gpu.composed_term, d_cpu.composed_term)}) {
    CHECK(std::abs(double(a) - double(b)) <= value_tol * std::max(1.0, std::abs(double(b))));
  }
  CHECK(scaled_max_error(ccl::gpu::to_host(d_gpu.grad_student), d_cpu.grad_student) <= grad_tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(d_gpu.grad_teacher), d_cpu.grad_teacher) <= grad_tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(d_gpu.grad_composed), d_cpu.grad_composed) <= grad_tol);

  // accumulate with a weight and a frozen teacher (empty view) on top of existing gradients.
  RowMatrix<Scalar> gs_cpu = f, gc_cpu = g;
  const Scalar v_cpu =
      distill_cpu.accumulate(ccl::view(f), ccl::view(g), ccl::view(c), labels, Scalar(0.7),
                             ccl::mutable_view(gs_cpu), {}, ccl::mutable_view(gc_cpu));
  auto gs_d = ccl::gpu::to_device(f), gc_d = ccl::gpu::to_device(g);
  const Scalar v_gpu = distill_gpu.accumulate(fd.view(), gd.view(), cd.view(), labels, Scalar(0.7),
                                              gs_d.mutable_view(), {}, gc_d.mutable_view());
  CHECK(std::abs(double(v_gpu) - double(v_cpu)) <=
        value_tol * std::max(1.0, std::abs(double(v_cpu))));
  CHECK(scaled_max_error(ccl::gpu::to_host(gs_d), gs_cpu) <= grad_tol);
  CHECK(scaled_max_error(ccl::gpu::to_host(gc_d), gc_cpu) <= grad_tol);
}
