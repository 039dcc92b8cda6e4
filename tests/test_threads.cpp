// Threads and results (docs/performance.md, "Threads"): ccl::parallel_gemm and every layer that
// threads its loops must give, at any thread count, the one-thread result up to floating-point
// summation order, and identical bits from run to run at a fixed thread count.
//
// Tolerances: products split by columns or rows compute each output exactly as one thread would,
// so they are compared at 1e-12 (double); depth-split products add per-thread partial sums in
// thread order, which moves the last bits: 1e-12 relative in double, 1e-5 relative in float (a
// convolution's weight gradient sums some 10^4 products per entry). Same thread count, same input:
// the results must be bit-identical.

#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/parallel_gemm.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/pooling.hpp>

#include <catch2/catch.hpp>

#include "support/nn_gradient_check.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

using ccl::Gemm;
using ccl::GemmSplit;
using ccl::Index;
using ccl::RowMatrix;

namespace {

/// Restores the thread setting a test changed, whatever the test's outcome.
struct ThreadSetting {
  explicit ThreadSetting(int n) { ccl::set_num_threads(n); }
  ThreadSetting(const ThreadSetting&) = delete;
  ThreadSetting& operator=(const ThreadSetting&) = delete;
  ~ThreadSetting() { ccl::set_num_threads(0); }
};

template <class Scalar>
RowMatrix<Scalar> random_matrix(Index rows, Index cols, std::uint64_t seed) {
  ccl::Rng rng(seed);
  RowMatrix<double> m(rows, cols);
  rng.fill_normal(m);
  return m.cast<Scalar>();
}

/// max |a - b| / max(1, max |b|).
template <class A, class B>
double relative_difference(const A& a, const B& b) {
  const double scale = std::max(1.0, double(b.cwiseAbs().maxCoeff()));
  return double((a - b).cwiseAbs().maxCoeff()) / scale;
}

template <class A, class B>
bool bit_identical(const A& a, const B& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::equal(a.data(), a.data() + a.size(), b.data());
}

}  // namespace

TEST_CASE("gemm_split picks columns, then rows, then depth, and stays serial when small",
          "[threads][gemm]") {
  using Axis = GemmSplit::Axis;
  CHECK(ccl::gemm_split(64, 4096, 216, 2).axis == Axis::columns);  // a convolution's forward
  CHECK(ccl::gemm_split(64, 4096, 216, 2).pieces == 2);
  CHECK(ccl::gemm_split(512, 16, 512, 2).axis == Axis::rows);   // a tall, narrow product
  CHECK(ccl::gemm_split(8, 27, 65536, 4).axis == Axis::depth);  // a weight gradient
  CHECK(ccl::gemm_split(8, 27, 65536, 4).pieces == 4);
  CHECK(ccl::gemm_split(16, 10, 64, 8).axis == Axis::none);        // too little work
  CHECK(ccl::gemm_split(4096, 4096, 4096, 1).axis == Axis::none);  // one thread
  // Never more pieces than there is work for: 2^19 multiply-adds make two pieces at most.
  CHECK(ccl::gemm_split(64, 128, 64, 16).pieces == 2);
}

TEMPLATE_TEST_CASE("parallel_gemm equals one product for every split, transpose and mode",
                   "[threads][gemm]", float, double) {
  using Scalar = TestType;
  const double tolerance = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
  struct Shape {
    Index m, n, k;
  };
  // Columns, rows and depth splits, and sizes that leave a short last piece.
  const std::vector<Shape> shapes{{48, 1000, 70}, {333, 20, 300}, {9, 20, 20000}, {5, 7, 3}};
  for (const auto& s : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const RowMatrix<Scalar> a =
            ta ? random_matrix<Scalar>(s.k, s.m, 1) : random_matrix<Scalar>(s.m, s.k, 1);
        const RowMatrix<Scalar> b =
            tb ? random_matrix<Scalar>(s.n, s.k, 2) : random_matrix<Scalar>(s.k, s.n, 2);
        const auto arg_a = ta ? ccl::gemm_arg_transposed(a) : ccl::gemm_arg(a);
        const auto arg_b = tb ? ccl::gemm_arg_transposed(b) : ccl::gemm_arg(b);
        RowMatrix<double> expected = (ta ? RowMatrix<double>(a.transpose().template cast<double>())
                                         : RowMatrix<double>(a.template cast<double>())) *
                                     (tb ? RowMatrix<double>(b.transpose().template cast<double>())
                                         : RowMatrix<double>(b.template cast<double>()));
        const RowMatrix<Scalar> start = random_matrix<Scalar>(s.m, s.n, 3);
        ccl::GemmScratch<Scalar> scratch;
        for (int threads : {1, 2, 3, 4}) {
          INFO("m " << s.m << " n " << s.n << " k " << s.k << " ta " << ta << " tb " << tb
                    << " threads " << threads);
          RowMatrix<Scalar> c = start;
          ccl::parallel_gemm(c, arg_a, arg_b, Gemm::overwrite, scratch, threads);
          CHECK(relative_difference(c.template cast<double>(), expected) < tolerance);
          c = start;
          ccl::parallel_gemm(c, arg_a, arg_b, Gemm::accumulate, scratch, threads);
          const RowMatrix<double> sum = expected + start.template cast<double>();
          CHECK(relative_difference(c.template cast<double>(), sum) < tolerance);
        }
      }
    }
  }
}

TEST_CASE("parallel_gemm is bit-identical from run to run and serial inside a parallel region",
          "[threads][gemm]") {
  const RowMatrix<float> a = random_matrix<float>(9, 30000, 4);
  const RowMatrix<float> b = random_matrix<float>(30000, 40, 5);
  ccl::GemmScratch<float> scratch;
  RowMatrix<float> first(9, 40), second(9, 40);
  REQUIRE(ccl::gemm_split(9, 40, 30000, 3).axis == GemmSplit::Axis::depth);
  ccl::parallel_gemm(first, ccl::gemm_arg(a), ccl::gemm_arg(b), Gemm::overwrite, scratch, 3);
  ccl::parallel_gemm(second, ccl::gemm_arg(a), ccl::gemm_arg(b), Gemm::overwrite, scratch, 3);
  CHECK(bit_identical(first, second));

  // Called from inside a team (as a user's own OpenMP loop would), every thread runs its whole
  // product serially: no nested team, no barrier waiting for threads that never come.
  std::vector<RowMatrix<float>> results(4, RowMatrix<float>(9, 40));
  std::vector<int> ran(4, 0);
  ccl::parallel_team(4, [&](int thread, int) {
    ccl::GemmScratch<float> own;
    ccl::parallel_gemm(results[std::size_t(thread)], ccl::gemm_arg(a), ccl::gemm_arg(b),
                       Gemm::overwrite, own, 3);
    ran[std::size_t(thread)] = 1;
  });
  REQUIRE(ran[0] == 1);
  const RowMatrix<double> expected = a.cast<double>() * b.cast<double>();
  for (std::size_t t = 0; t < results.size(); ++t)
    if (ran[t] == 1) CHECK(relative_difference(results[t].cast<double>(), expected) < 1e-5);
}

TEST_CASE("gemm rejects products whose shapes do not chain", "[threads][gemm][errors]") {
  const RowMatrix<double> a = random_matrix<double>(3, 4, 1), b = random_matrix<double>(5, 2, 2);
  RowMatrix<double> c(3, 2);
  CHECK_THROWS_AS(ccl::gemm(c, ccl::gemm_arg(a), ccl::gemm_arg(b), Gemm::overwrite), ccl::error);
  ccl::GemmScratch<double> scratch;
  CHECK_THROWS_AS(
      ccl::parallel_gemm(c, ccl::gemm_arg(a), ccl::gemm_arg(b), Gemm::overwrite, scratch, 2),
      ccl::error);
}

namespace {

/// Output, input gradient and every parameter gradient of one forward + backward of a layer.
template <class Output, class Input>
struct LayerRun {
  Output output;
  Input grad_input;
  std::vector<RowMatrix<typename Input::ScalarType>> grads;
};

template <class Layer, class Input, class GradOutput>
auto run_layer(Layer& layer, const Input& x, const GradOutput& grad_y) {
  layer.zero_grad();
  LayerRun<GradOutput, Input> run;
  run.output = layer.forward(x);
  run.grad_input = Input(x.shape(), typename Input::ScalarType(0));
  layer.backward(grad_y, &run.grad_input);
  layer.for_each_parameter([&](auto& p) { run.grads.push_back(p.grad); });
  return run;
}

template <class Output, class Input>
void compare_runs(const LayerRun<Output, Input>& got, const LayerRun<Output, Input>& reference,
                  double tolerance) {
  CHECK(relative_difference(got.output.flat(), reference.output.flat()) < tolerance);
  CHECK(relative_difference(got.grad_input.flat(), reference.grad_input.flat()) < tolerance);
  REQUIRE(got.grads.size() == reference.grads.size());
  for (std::size_t i = 0; i < got.grads.size(); ++i) {
    INFO("parameter " << i);
    CHECK(relative_difference(got.grads[i], reference.grads[i]) < tolerance);
  }
}

template <class Output, class Input>
bool identical_runs(const LayerRun<Output, Input>& a, const LayerRun<Output, Input>& b) {
  bool same = bit_identical(a.output.flat(), b.output.flat()) &&
              bit_identical(a.grad_input.flat(), b.grad_input.flat());
  for (std::size_t i = 0; i < a.grads.size(); ++i)
    same = same && bit_identical(a.grads[i], b.grads[i]);
  return same;
}

/// One thread is the reference; 2 and 3 threads agree to `tolerance`; two runs at 2 and at 3
/// threads are bit-identical.
template <class Layer, class Input>
void check_layer_threads(Layer& layer, const Input& x, double tolerance) {
  using Scalar = typename Input::ScalarType;
  ccl::Rng rng(99);
  std::decay_t<decltype(layer.forward(x))> grad_y = layer.forward(x);
  for (Index i = 0; i < grad_y.size(); ++i) grad_y.data()[i] = Scalar(rng.uniform(-1.0, 1.0));
  LayerRun<decltype(grad_y), Input> reference;
  {
    ThreadSetting one(1);
    reference = run_layer(layer, x, grad_y);
  }
  for (int threads : {2, 3}) {
    INFO("threads " << threads);
    ThreadSetting setting(threads);
    const auto first = run_layer(layer, x, grad_y);
    const auto second = run_layer(layer, x, grad_y);
    compare_runs(first, reference, tolerance);
    CHECK(identical_runs(first, second));
  }
}

template <class Scalar>
double layer_tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
}

}  // namespace

TEMPLATE_TEST_CASE("Conv1d/2d/3d give the one-thread result on 2 and 3 threads",
                   "[threads][nn][conv]", float, double) {
  using Scalar = TestType;
  ccl::Rng rng(3);
  {
    ccl::nn::ConvNd<Scalar, 1> conv(ccl::nn::ConvOptions<1>(4, 24, 5).padding(2), rng);
    check_layer_threads(conv,
                        ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<3>{3, 4, 700}),
                        layer_tolerance<Scalar>());
  }
  {
    ccl::nn::ConvNd<Scalar, 2> conv(ccl::nn::ConvOptions<2>(3, 16, 3).stride(2).padding(1), rng);
    check_layer_threads(conv,
                        ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<4>{2, 3, 40, 36}),
                        layer_tolerance<Scalar>());
  }
  {
    // The Table 1 stem's shape class: few channels, a deep weight-gradient product.
    ccl::nn::ConvNd<Scalar, 3> conv(ccl::nn::ConvOptions<3>(1, 8, 3).padding(1), rng);
    check_layer_threads(
        conv, ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<5>{4, 1, 8, 32, 32}),
        layer_tolerance<Scalar>());
  }
  {
    // Pointwise (1x1x1) convolutions take the per-sample path.
    ccl::nn::ConvNd<Scalar, 3> conv(ccl::nn::ConvOptions<3>(16, 32, 1).stride(2), rng);
    check_layer_threads(
        conv, ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<5>{2, 16, 4, 16, 16}),
        layer_tolerance<Scalar>());
  }
  {
    // A workspace limit below one time step: blocks of one output time step per thread's
    // sample, or one sample per chunk on the batched path.
    ccl::nn::ConvNd<Scalar, 3> conv(ccl::nn::ConvOptions<3>(4, 8, 3).padding(1), rng);
    conv.set_workspace_limit(1);
    check_layer_threads(
        conv, ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<5>{3, 4, 4, 12, 12}),
        layer_tolerance<Scalar>());
  }
}

TEMPLATE_TEST_CASE("The narrow R(2+1)D encoder gives the one-thread step on 2 and 3 threads",
                   "[threads][nn][encoder]", float, double) {
  using Scalar = TestType;
  ccl::Rng rng(5);
  auto options = ccl::nn::encoders::R2Plus1dOptions::narrow(1);
  options.stem_stride = {1, 2, 2};
  auto encoder = ccl::nn::encoders::r2plus1d<Scalar>(options, rng);
  encoder.set_training(true);  // BatchNorm on batch statistics: the backward through them too
  const auto x = ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<5>{4, 1, 8, 32, 32});
  // Each of ~20 layers adds its summation-order difference to the next one's input.
  check_layer_threads(encoder, x, std::is_same_v<Scalar, float> ? 1e-4 : 1e-11);
}

TEMPLATE_TEST_CASE("BatchNorm and pooling give the one-thread result on 2 and 3 threads",
                   "[threads][nn][batch_norm][pooling]", float, double) {
  using Scalar = TestType;
  ccl::Rng rng(6);
  // Each channel (BatchNorm) or plane (pooling) is one thread's work, summed in the same order
  // whatever the thread count: the results are equal to the last bit, not just to rounding.
  const double exact = 1e-15;
  const auto x = ccl::testing::random_tensor<Scalar>(rng, ccl::nn::Shape<5>{3, 7, 4, 10, 10});
  {
    ccl::nn::BatchNorm3d<Scalar> norm(7);
    norm.set_training(true);  // batch statistics and the backward through them
    check_layer_threads(norm, x, exact);
  }
  {
    ccl::nn::MaxPool<Scalar, 3> pool(ccl::nn::PoolOptions<3>({1, 3, 3}).stride({1, 2, 2}));
    check_layer_threads(pool, x, exact);
  }
  {
    ccl::nn::AvgPool<Scalar, 3> pool(2);
    check_layer_threads(pool, x, exact);
  }
  {
    ccl::nn::GlobalAvgPool<Scalar, 3> pool;
    check_layer_threads(pool, x, exact);
  }
}

TEMPLATE_TEST_CASE("Linear gives the one-thread result on 2 and 3 threads", "[threads][nn][linear]",
                   float, double) {
  using Scalar = TestType;
  ccl::Rng rng(8);
  for (const auto& shape :
       std::vector<std::array<Index, 3>>{{512, 256, 128}, {16, 4096, 64}, {4, 30000, 8}}) {
    // Plain variables, not a structured binding: the lambda below captures them (C++17).
    const Index batch = shape[0], in = shape[1], out = shape[2];
    INFO("batch " << batch << " in " << in << " out " << out);
    ccl::nn::Linear<Scalar> linear(in, out, rng);
    const RowMatrix<Scalar> x = random_matrix<Scalar>(batch, in, 11);
    const RowMatrix<Scalar> grad_y = random_matrix<Scalar>(batch, out, 12);
    auto run = [&] {
      linear.zero_grad();
      std::vector<RowMatrix<Scalar>> result{linear.forward(ccl::view(x))};
      RowMatrix<Scalar> grad_x = RowMatrix<Scalar>::Zero(batch, in);
      linear.backward(ccl::view(grad_y), ccl::mutable_view(grad_x));
      result.push_back(grad_x);
      linear.for_each_parameter([&](auto& p) { result.push_back(p.grad); });
      return result;
    };
    std::vector<RowMatrix<Scalar>> reference;
    {
      ThreadSetting one(1);
      reference = run();
    }
    for (int threads : {2, 3}) {
      ThreadSetting setting(threads);
      const auto first = run(), second = run();
      for (std::size_t i = 0; i < reference.size(); ++i) {
        INFO("threads " << threads << " result " << i);
        CHECK(relative_difference(first[i], reference[i]) < layer_tolerance<Scalar>());
        CHECK(bit_identical(first[i], second[i]));
      }
    }
  }
}
