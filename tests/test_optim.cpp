// Optimisers and schedules: SGD and Adam against values worked out by hand from PyTorch's
// documented update rules (torch.optim.SGD / Adam / AdamW) and against a naive scalar re-statement
// of those rules written here, independently of the Eigen implementation; parameter groups with
// their own lr and a schedule on one group only; MultiStep and cosine values; bad options.

#include <catch2/catch.hpp>

#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/optim.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using ccl::Index;
using ccl::Parameter;
using ccl::RowMatrix;
namespace optim = ccl::optim;

namespace {

// Runs `steps` steps on a single scalar parameter with the given gradient sequence; returns θ after
// each step.
template <class Optimizer>
std::vector<double> run_scalar(Optimizer& opt, Parameter<double>& p,
                               const std::vector<double>& grads) {
  std::vector<double> thetas;
  for (double g : grads) {
    p.grad(0, 0) = g;
    opt.step();
    thetas.push_back(p.value(0, 0));
  }
  return thetas;
}

Parameter<double> scalar_parameter(double value) {
  Parameter<double> p("theta", 1, 1);
  p.value(0, 0) = value;
  return p;
}

// torch.optim.SGD's single-tensor rule, one scalar at a time.
struct NaiveSgd {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool has_buffer = false;
  double buffer = 0;
  double step(double theta, double g) {
    double d = weight_decay != 0 ? g + weight_decay * theta : g;
    if (momentum != 0) {
      if (!has_buffer) {
        buffer = d;
        has_buffer = true;
      } else {
        buffer = buffer * momentum + (1 - dampening) * d;
      }
      d = nesterov ? d + momentum * buffer : buffer;
    }
    return theta - lr * d;
  }
};

// torch.optim.Adam / AdamW, one scalar at a time.
struct NaiveAdam {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;
  double m = 0, v = 0;
  long t = 0;
  double step(double theta, double g) {
    ++t;
    if (decoupled) {
      theta *= 1 - lr * weight_decay;
    } else if (weight_decay != 0) {
      g += weight_decay * theta;
    }
    m = m + (1 - beta1) * (g - m);
    v = v * beta2 + (1 - beta2) * g * g;
    const double bc1 = 1 - std::pow(beta1, double(t));
    const double bc2 = 1 - std::pow(beta2, double(t));
    return theta - (lr / bc1) * (m / (std::sqrt(v) / std::sqrt(bc2) + eps));
  }
};

// A varying gradient per element and step, so sign changes and magnitudes are exercised.
double gradient_at(Index i, Index j, int step) {
  return std::sin(0.7 * double(i) + 1.3 * double(j) + 0.9 * step) * (1.0 + 0.25 * step);
}

}  // namespace

TEST_CASE("Sgd without momentum is θ - lr·(g + wd·θ)", "[optim][sgd]") {
  auto p = scalar_parameter(1.0);
  optim::Sgd<double> sgd;
  sgd.add_group(optim::SgdOptions{0.1, 0.0, 0.0, 0.0, false}).add_parameter("theta", p);
  // 1 - 0.1·0.5 = 0.95; 0.95 - 0.1·(-0.25) = 0.975
  const auto thetas = run_scalar(sgd, p, {0.5, -0.25});
  CHECK(thetas[0] == Approx(0.95).epsilon(1e-15));
  CHECK(thetas[1] == Approx(0.975).epsilon(1e-15));
}

TEST_CASE("Sgd with momentum, dampening and weight decay matches hand-computed PyTorch steps",
          "[optim][sgd]") {
  // lr 0.1, momentum 0.9, dampening 0.5, wd 0.1, θ0 = 1, g = 0.5, -0.25, 1:
  //   d1 = 0.6      b1 = d1 = 0.6 (first step: no dampening)          θ1 = 0.94
  //   d2 = -0.156   b2 = 0.9·0.6 + 0.5·(-0.156) = 0.462                θ2 = 0.8938
  //   d3 = 1.08938  b3 = 0.9·0.462 + 0.5·1.08938 = 0.96049             θ3 = 0.797751
  auto p = scalar_parameter(1.0);
  optim::Sgd<double> sgd;
  sgd.add_group(optim::SgdOptions{0.1, 0.9, 0.5, 0.1, false}).add_parameter("theta", p);
  const auto thetas = run_scalar(sgd, p, {0.5, -0.25, 1.0});
  CHECK(thetas[0] == Approx(0.94).epsilon(1e-14));
  CHECK(thetas[1] == Approx(0.8938).epsilon(1e-14));
  CHECK(thetas[2] == Approx(0.797751).epsilon(1e-14));
  const auto& state = sgd.groups()[0].entries[0].state;
  CHECK(state.step == 3);
  CHECK(state.buffers[0](0, 0) == Approx(0.96049).epsilon(1e-14));
  // The gradient itself is left alone (weight decay goes into a temporary).
  CHECK(p.grad(0, 0) == 1.0);
}

TEST_CASE("Sgd's first step copies d into the momentum buffer", "[optim][sgd]") {
  auto p = scalar_parameter(2.0);
  optim::Sgd<double> sgd;
  sgd.add_group(optim::SgdOptions{0.5, 0.9, 0.75, 0.0, false}).add_parameter("theta", p);
  const auto& buffer = sgd.groups()[0].entries[0].state.buffers[0];
  CHECK(buffer.size() == 0);  // lazily created, like PyTorch's state
  p.grad(0, 0) = 0.4;
  sgd.step();
  CHECK(buffer(0, 0) == 0.4);  // not (1 - 0.75)·0.4
  CHECK(p.value(0, 0) == 2.0 - 0.5 * 0.4);
}

TEST_CASE("Sgd with Nesterov matches hand-computed PyTorch steps", "[optim][sgd]") {
  // lr 0.1, momentum 0.9, θ0 = 1, g = 0.5, -0.25, 1:
  //   b1 = 0.5   step 0.5 + 0.45 = 0.95      θ1 = 0.905
  //   b2 = 0.2   step -0.25 + 0.18 = -0.07   θ2 = 0.912
  //   b3 = 1.18  step 1 + 1.062 = 2.062      θ3 = 0.7058
  auto p = scalar_parameter(1.0);
  optim::Sgd<double> sgd;
  sgd.add_group(optim::SgdOptions{0.1, 0.9, 0.0, 0.0, true}).add_parameter("theta", p);
  const auto thetas = run_scalar(sgd, p, {0.5, -0.25, 1.0});
  CHECK(thetas[0] == Approx(0.905).epsilon(1e-14));
  CHECK(thetas[1] == Approx(0.912).epsilon(1e-14));
  CHECK(thetas[2] == Approx(0.7058).epsilon(1e-14));
}

TEST_CASE("Sgd matches a naive scalar reference for every option combination", "[optim][sgd]") {
  for (double momentum : {0.0, 0.9}) {
    for (double dampening : {0.0, 0.3}) {
      for (double weight_decay : {0.0, 5e-2}) {
        for (bool nesterov : {false, true}) {
          if (nesterov && (momentum == 0 || dampening != 0)) continue;
          CAPTURE(momentum, dampening, weight_decay, nesterov);
          const optim::SgdOptions options{0.05, momentum, dampening, weight_decay, nesterov};
          Parameter<double> p("w", 2, 3);
          for (Index i = 0; i < 2; ++i)
            for (Index j = 0; j < 3; ++j) p.value(i, j) = 0.5 * double(i) - 0.3 * double(j) + 0.1;
          std::vector<NaiveSgd> naive(6,
                                      NaiveSgd{0.05, momentum, dampening, weight_decay, nesterov});
          RowMatrix<double> expected = p.value;
          optim::Sgd<double> sgd;
          sgd.add_group(options).add_parameter("w", p);
          for (int step = 0; step < 6; ++step) {
            for (Index i = 0; i < 2; ++i) {
              for (Index j = 0; j < 3; ++j) {
                p.grad(i, j) = gradient_at(i, j, step);
                expected(i, j) = naive[std::size_t(i * 3 + j)].step(expected(i, j), p.grad(i, j));
              }
            }
            sgd.step();
            for (Index k = 0; k < 6; ++k) REQUIRE(p.value(k) == Approx(expected(k)).epsilon(1e-13));
          }
        }
      }
    }
  }
}

TEST_CASE("Sgd in float follows the same rule", "[optim][sgd]") {
  Parameter<float> p("w", 1, 1);
  p.value(0, 0) = 1.0f;
  optim::Sgd<float> sgd;
  sgd.add_group(optim::SgdOptions::official()).add_parameter("w", p);
  NaiveSgd naive{1e-3, 0.9, 0.0, 5e-4, false};
  double expected = 1.0;
  for (int step = 0; step < 10; ++step) {
    p.grad(0, 0) = float(gradient_at(0, 0, step));
    expected = naive.step(expected, double(p.grad(0, 0)));
    sgd.step();
  }
  CHECK(double(p.value(0, 0)) == Approx(expected).epsilon(1e-6));
}

TEST_CASE("Adam matches hand-computed PyTorch steps", "[optim][adam]") {
  // lr 0.1, β = (0.9, 0.999), ε = 1e-8, θ0 = 1, g1 = 0.5: m = 0.05, v = 2.5e-4, bias corrections
  // 0.1 and 1e-3, so θ1 = 1 - (0.1/0.1)·0.05/(0.5 + 1e-8) = 0.900000002. The later values were
  // worked out with the same formulas in Python's double arithmetic.
  auto p = scalar_parameter(1.0);
  optim::Adam<double> adam;
  adam.add_group(optim::AdamOptions{0.1, 0.9, 0.999, 1e-8, 0.0, false}).add_parameter("theta", p);
  const auto thetas = run_scalar(adam, p, {0.5, -0.25, 1.0});
  CHECK(thetas[0] == Approx(0.900000002).epsilon(1e-14));
  CHECK(thetas[1] == Approx(0.8733662987078463).epsilon(1e-14));
  CHECK(thetas[2] == Approx(0.8075551396770898).epsilon(1e-14));
  CHECK(adam.groups()[0].entries[0].state.step == 3);
}

TEST_CASE("Adam's L2 weight decay and AdamW's decoupled decay differ as in PyTorch",
          "[optim][adam]") {
  SECTION("Adam: g + wd·θ enters both moments") {
    auto p = scalar_parameter(1.0);
    optim::Adam<double> adam;
    adam.add_group(optim::AdamOptions{0.1, 0.9, 0.999, 1e-8, 0.1, false}).add_parameter("t", p);
    const auto thetas = run_scalar(adam, p, {0.5, -0.25, 1.0});
    CHECK(thetas[0] == Approx(0.9000000016666666).epsilon(1e-14));
    CHECK(thetas[1] == Approx(0.8544413674617625).epsilon(1e-14));
    CHECK(thetas[2] == Approx(0.7815043998631659).epsilon(1e-14));
  }
  SECTION("AdamW: θ·(1 - lr·wd) before the Adam step") {
    auto p = scalar_parameter(1.0);
    optim::Adam<double> adam;
    adam.add_group(optim::AdamOptions{0.1, 0.9, 0.999, 1e-8, 0.1, true}).add_parameter("t", p);
    const auto thetas = run_scalar(adam, p, {0.5, -0.25, 1.0});
    CHECK(thetas[0] == Approx(0.890000002).epsilon(1e-14));
    CHECK(thetas[1] == Approx(0.8544662986878463).epsilon(1e-14));
    CHECK(thetas[2] == Approx(0.7801104766702113).epsilon(1e-14));
  }
}

TEST_CASE("Adam matches a naive scalar reference for every option combination", "[optim][adam]") {
  for (double weight_decay : {0.0, 1e-2}) {
    for (bool decoupled : {false, true}) {
      for (double beta1 : {0.0, 0.8}) {
        CAPTURE(weight_decay, decoupled, beta1);
        const optim::AdamOptions options{0.01, beta1, 0.99, 1e-6, weight_decay, decoupled};
        Parameter<double> p("w", 3, 2);
        for (Index k = 0; k < p.size(); ++k) p.value(k) = 0.2 * double(k) - 0.5;
        std::vector<NaiveAdam> naive(6,
                                     NaiveAdam{0.01, beta1, 0.99, 1e-6, weight_decay, decoupled});
        RowMatrix<double> expected = p.value;
        optim::Adam<double> adam;
        adam.add_group(options).add_parameter("w", p);
        for (int step = 0; step < 7; ++step) {
          for (Index i = 0; i < 3; ++i) {
            for (Index j = 0; j < 2; ++j) {
              p.grad(i, j) = gradient_at(i, j, step);
              expected(i, j) = naive[std::size_t(i * 2 + j)].step(expected(i, j), p.grad(i, j));
            }
          }
          adam.step();
          for (Index k = 0; k < 6; ++k) REQUIRE(p.value(k) == Approx(expected(k)).epsilon(1e-13));
        }
      }
    }
  }
}

TEST_CASE("Groups have their own lr; a schedule bound to one group leaves the other alone",
          "[optim][groups][schedule]") {
  ccl::Rng rng(3);
  ccl::nn::Linear<double> student(3, 2, rng);
  ccl::nn::Linear<double> head(2, 2, rng);
  optim::Sgd<double> sgd;
  const Index student_group =
      sgd.add_group(optim::SgdOptions{1e-3, 0.0, 0.0, 0.0, false}).add("student", student).index();
  const Index head_group =
      sgd.add_group(optim::SgdOptions{1e-3, 0.0, 0.0, 0.0, false}).add("head", head).index();
  CHECK(sgd.group_count() == 2);
  CHECK(sgd.parameter_count() == 4);
  REQUIRE(sgd.find("student.weight") != nullptr);
  REQUIRE(sgd.find("head.bias") != nullptr);
  CHECK(sgd.find("student.weight")->parameter == &student.weight());
  CHECK(sgd.find("nope") == nullptr);

  optim::Scheduler<optim::MultiStep> schedule(sgd, student_group, optim::MultiStep{{2, 3}, 0.1});
  CHECK(sgd.lr(student_group) == 1e-3);
  for (int epoch = 0; epoch < 3; ++epoch) schedule.step();
  CHECK(schedule.epoch() == 3);
  CHECK(sgd.lr(student_group) == Approx(1e-5).epsilon(1e-14));
  CHECK(sgd.lr(head_group) == 1e-3);

  // One step with unit gradients: each group moves by its own lr.
  const RowMatrix<double> student_before = student.weight().value;
  const RowMatrix<double> head_before = head.weight().value;
  student.weight().grad.setOnes();
  student.bias().grad.setOnes();
  head.weight().grad.setOnes();
  head.bias().grad.setOnes();
  sgd.step();
  CHECK((student_before - student.weight().value).maxCoeff() == Approx(1e-5).epsilon(1e-9));
  CHECK((head_before - head.weight().value).maxCoeff() == Approx(1e-3).epsilon(1e-9));

  sgd.zero_grad();
  CHECK(student.weight().grad.isZero(0));
  CHECK(head.bias().grad.isZero(0));
}

TEST_CASE("Parameter keys are unique and a parameter belongs to one group", "[optim][groups]") {
  ccl::Rng rng(1);
  ccl::nn::Linear<double> a(2, 2, rng);
  ccl::nn::Linear<double> b(2, 2, rng);
  optim::Sgd<double> sgd;
  sgd.add_group(optim::SgdOptions{}).add("net", a);
  REQUIRE_THROWS_WITH(sgd.add_group(optim::SgdOptions{}).add("net", b),
                      Catch::Contains("'net.weight' is already taken"));
  REQUIRE_THROWS_WITH(sgd.group(0).add("other", a),
                      Catch::Contains("'other.weight' is already in this optimiser"));
  REQUIRE_THROWS_WITH(sgd.group(5), Catch::Contains("group 5 does not exist"));
  REQUIRE_THROWS_WITH(sgd.set_lr(9, 0.1), Catch::Contains("group 9 does not exist"));
}

TEST_CASE("Bad optimiser options are refused with the value", "[optim][errors]") {
  optim::Sgd<double> sgd;
  REQUIRE_THROWS_WITH(sgd.add_group(optim::SgdOptions{-1.0, 0, 0, 0, false}),
                      Catch::Contains("lr must be finite and >= 0, got -1"));
  REQUIRE_THROWS_WITH(sgd.add_group(optim::SgdOptions{0.1, 0.9, 0.1, 0, true}),
                      Catch::Contains("nesterov needs momentum > 0 and dampening = 0"));
  REQUIRE_THROWS_WITH(sgd.add_group(optim::SgdOptions{0.1, -0.5, 0, 0, false}),
                      Catch::Contains("momentum must be finite and >= 0"));
  REQUIRE_THROWS_WITH(sgd.add_group(optim::SgdOptions{0.1, 0, 0, std::nan(""), false}),
                      Catch::Contains("weight_decay"));
  optim::Adam<double> adam;
  REQUIRE_THROWS_WITH(adam.add_group(optim::AdamOptions{0.1, 1.0, 0.999, 1e-8, 0, false}),
                      Catch::Contains("beta1 must be in [0, 1), got 1"));
  REQUIRE_THROWS_WITH(adam.add_group(optim::AdamOptions{0.1, 0.9, 0.999, -1, 0, false}),
                      Catch::Contains("eps must be finite and >= 0"));
  adam.add_group(optim::AdamOptions{});
  REQUIRE_THROWS_WITH(adam.set_lr(0, std::nan("")), Catch::Contains("Adam: lr must be finite"));
  CHECK(adam.lr(0) == 1e-3);  // unchanged by the refused set_lr

  Parameter<double> p("w", 2, 2);
  adam.group(0).add_parameter("w", p);
  p.grad.resize(1, 1);
  REQUIRE_THROWS_WITH(adam.step(), Catch::Contains("'w' has value [2, 2] but gradient [1, 1]"));
}

TEST_CASE("MultiStep gives the official CCL learning rates", "[optim][schedule]") {
  // method.md §5: lr 1e-3 for epochs 1–150, 1e-4 for 151–225, 1e-5 for 226–300 (1-based), i.e.
  // counters 0–149, 150–224, 225–299.
  optim::Scheduler<optim::MultiStep> schedule(1e-3, optim::MultiStep{{150, 225}, 0.1});
  CHECK(schedule.lr_at(0) == 1e-3);
  CHECK(schedule.lr_at(149) == 1e-3);
  CHECK(schedule.lr_at(150) == Approx(1e-4).epsilon(1e-15));
  CHECK(schedule.lr_at(224) == Approx(1e-4).epsilon(1e-15));
  CHECK(schedule.lr_at(225) == Approx(1e-5).epsilon(1e-15));
  CHECK(schedule.lr_at(299) == Approx(1e-5).epsilon(1e-15));
  // Python's 1e-3 * 0.1 ** 2
  CHECK(schedule.lr_at(225) == 1.0000000000000003e-05);
  // A repeated milestone counts twice (PyTorch's Counter of milestones).
  optim::Scheduler<optim::MultiStep> twice(1.0, optim::MultiStep{{2, 2}, 0.5});
  CHECK(twice.lr_at(1) == 1.0);
  CHECK(twice.lr_at(2) == 0.25);
  REQUIRE_THROWS_WITH(optim::MultiStep({5, 3}, 0.1), Catch::Contains("increasing order"));
  REQUIRE_THROWS_WITH(optim::MultiStep({5}, 0.0), Catch::Contains("gamma must be finite and > 0"));
}

TEST_CASE("Cosine follows PyTorch's closed form", "[optim][schedule]") {
  // η_min + (0.1 - η_min)(1 + cos(π e / 10)) / 2 with η_min = 0.001, worked out in Python.
  optim::Scheduler<optim::Cosine> schedule(0.1, optim::Cosine{10, 0.001});
  CHECK(schedule.lr_at(0) == Approx(0.1).epsilon(1e-15));
  CHECK(schedule.lr_at(3) == Approx(0.07959536998847742).epsilon(1e-14));
  CHECK(schedule.lr_at(5) == Approx(0.0505).epsilon(1e-14));
  CHECK(schedule.lr_at(10) == Approx(0.001).epsilon(1e-14));
  CHECK(schedule.lr_at(15) == Approx(0.0505).epsilon(1e-13));  // no clamping past T_max
  REQUIRE_THROWS_WITH(optim::Cosine(0), Catch::Contains("t_max must be > 0, got 0"));
}

TEST_CASE("Scheduler steps once per epoch with PyTorch's counter", "[optim][schedule]") {
  Parameter<double> p("w", 1, 1);
  optim::Adam<double> adam;
  adam.add_group(optim::AdamOptions{0.2, 0.9, 0.999, 1e-8, 0, false}).add_parameter("w", p);
  optim::Scheduler<optim::Cosine> schedule(adam, 0, optim::Cosine{4});
  CHECK(schedule.base_lr() == 0.2);
  CHECK(adam.lr(0) == 0.2);
  const double expected[] = {0.2, 0.17071067811865476, 0.1, 0.029289321881345254, 0.0};
  for (int epoch = 1; epoch <= 4; ++epoch) {
    schedule.step();
    CHECK(schedule.epoch() == epoch);
    CHECK(adam.lr(0) == Approx(expected[epoch]).margin(1e-15));
  }

  optim::Scheduler<optim::Constant> constant(adam, 0, optim::Constant{});
  constant.step();
  CHECK(adam.lr(0) == Approx(0.0).margin(1e-15));  // the base lr was read when it was bound
}

TEST_CASE("Layers tag their parameters: weights, biases and normalisation parameters",
          "[optim][groups][decay]") {
  ccl::Rng rng(4);
  ccl::nn::Linear<double> linear(3, 1, rng);  // weight [1, 3]: shaped like a bias, still a weight
  CHECK(linear.weight().role == ccl::ParameterRole::weight);
  CHECK(linear.bias().role == ccl::ParameterRole::bias);
  ccl::nn::BatchNorm<double, 2> norm(4);
  int visited = 0;
  norm.for_each_parameter([&](Parameter<double>& p) {
    CHECK(p.role == ccl::ParameterRole::normalization);
    ++visited;
  });
  CHECK(visited == 2);
  ccl::nn::Conv3d<double> conv(ccl::nn::ConvOptions<3>(2, 3, 1).bias(true), rng);
  conv.for_each_parameter([&](Parameter<double>& p) {
    CHECK(p.role == (p.name == "bias" ? ccl::ParameterRole::bias : ccl::ParameterRole::weight));
  });
  CHECK(std::string(ccl::to_string(ccl::ParameterRole::normalization)) == "normalization");
}

TEST_CASE("WeightDecayOn::weights_only exempts biases and normalisation parameters",
          "[optim][groups][decay]") {
  ccl::Rng rng(5);
  ccl::nn::Linear<double> linear(3, 2, rng);
  ccl::nn::BatchNorm<double, 2> norm(2);
  const double wd = 0.1;
  auto fill_gradients = [&](int step) {
    for (Parameter<double>* p : {&linear.weight(), &linear.bias()})
      for (Index i = 0; i < p->value.rows(); ++i)
        for (Index j = 0; j < p->value.cols(); ++j) p->grad(i, j) = gradient_at(i, j, step);
    norm.for_each_parameter([&](Parameter<double>& p) {
      for (Index j = 0; j < p.value.cols(); ++j) p.grad(0, j) = gradient_at(1, j, step);
    });
  };
  // Each parameter must follow the naive rule with weight decay wd (weights) or 0 (the rest).
  auto check_rule = [&](auto& optimizer, auto make_naive) {
    std::vector<std::pair<Parameter<double>*, bool>> params{{&linear.weight(), true},
                                                            {&linear.bias(), false}};
    norm.for_each_parameter([&](Parameter<double>& p) { params.push_back({&p, false}); });
    std::vector<std::vector<decltype(make_naive(0.0))>> naive;
    std::vector<RowMatrix<double>> theta;
    for (auto& [p, decays] : params) {
      naive.emplace_back(std::size_t(p->value.size()), make_naive(decays ? wd : 0.0));
      theta.push_back(p->value);
    }
    for (int step = 0; step < 3; ++step) {
      fill_gradients(step);
      optimizer.step();
      for (std::size_t k = 0; k < params.size(); ++k) {
        const Parameter<double>& p = *params[k].first;
        for (Index e = 0; e < p.value.size(); ++e) {
          double& t = theta[k].data()[e];
          t = naive[k][std::size_t(e)].step(t, p.grad.data()[e]);
          CHECK(p.value.data()[e] == Approx(t).epsilon(1e-13));
        }
      }
    }
  };
  SECTION("Sgd") {
    optim::Sgd<double> sgd;
    const Index g = sgd.add_group(optim::SgdOptions{0.1, 0.9, 0.0, wd, false},
                                  optim::WeightDecayOn::weights_only)
                        .add("linear", linear)
                        .add("norm", norm)
                        .index();
    CHECK(sgd.weight_decay_on(g) == optim::WeightDecayOn::weights_only);
    CHECK(sgd.options(g).weight_decay == wd);  // the group's setting itself is unchanged
    check_rule(sgd, [](double decay) { return NaiveSgd{0.1, 0.9, 0.0, decay, false}; });
  }
  SECTION("AdamW") {
    optim::Adam<double> adam;
    adam.add_group(optim::AdamOptions{0.01, 0.9, 0.999, 1e-8, wd, true},
                   optim::WeightDecayOn::weights_only)
        .add("linear", linear)
        .add("norm", norm);
    check_rule(adam, [](double decay) { return NaiveAdam{0.01, 0.9, 0.999, 1e-8, decay, true}; });
  }
  SECTION("the default decays every parameter, as PyTorch does") {
    optim::Sgd<double> sgd;
    const Index g = sgd.add_group(optim::SgdOptions{0.1, 0.0, 0.0, wd, false}).add("norm", norm).index();
    CHECK(sgd.weight_decay_on(g) == optim::WeightDecayOn::all);
    const RowMatrix<double> before = norm.weight().value;  // ones
    norm.weight().grad.setZero();
    norm.bias().grad.setZero();
    sgd.step();
    CHECK(norm.weight().value.isApprox(before * (1 - 0.1 * wd)));
  }
}

TEST_CASE("One scheduler drives several groups, each from its own base lr",
          "[optim][schedule][groups]") {
  ccl::Rng rng(6);
  ccl::nn::Linear<double> encoder(3, 2, rng), head(2, 2, rng), frozen_lr(2, 1, rng);
  optim::Adam<double> adam;
  const Index e = adam.add_group(optim::AdamOptions{1e-4}).add("encoder", encoder).index();
  const Index h = adam.add_group(optim::AdamOptions{1e-3}).add("head", head).index();
  const Index f = adam.add_group(optim::AdamOptions{5e-3}).add("other", frozen_lr).index();
  const int epochs = 10;
  optim::Scheduler<optim::Cosine> cosine(adam, {e, h}, optim::Cosine(epochs));
  CHECK(cosine.base_lrs() == std::vector<double>{1e-4, 1e-3});
  CHECK(cosine.groups() == std::vector<Index>{e, h});
  for (int epoch = 1; epoch <= 4; ++epoch) {
    cosine.step();
    const double factor = (1 + std::cos(3.14159265358979323846 * epoch / epochs)) / 2;
    CHECK(adam.lr(e) == Approx(1e-4 * factor).epsilon(1e-14));
    CHECK(adam.lr(h) == Approx(1e-3 * factor).epsilon(1e-14));
    CHECK(adam.lr(f) == 5e-3);
  }
  CHECK(cosine.lr() == adam.lr(e));
  // A copy drives the same groups.
  auto copy = cosine;
  copy.step();
  CHECK(adam.lr(h) == Approx(1e-3 * (1 + std::cos(3.14159265358979323846 * 5 / epochs)) / 2));

  REQUIRE_THROWS_WITH(optim::Scheduler<optim::Cosine>(adam, std::vector<Index>{}, optim::Cosine(3)),
                      Catch::Contains("no optimiser group given"));
  REQUIRE_THROWS_WITH(optim::Scheduler<optim::Cosine>(adam, {e, e}, optim::Cosine(3)),
                      Catch::Contains("a group is listed twice"));
  REQUIRE_THROWS_WITH(optim::Scheduler<optim::Cosine>(adam, {e, 7}, optim::Cosine(3)),
                      Catch::Contains("group 7 does not exist"));
  REQUIRE_THROWS_WITH(cosine.restore(std::vector<double>{1e-3}, 2),
                      Catch::Contains("1 base lrs given, the scheduler drives 2 groups"));
}

TEST_CASE("Cosine takes its period from any integer type", "[optim][schedule]") {
  const std::vector<int> epochs(12);
  const std::size_t size_t_period = epochs.size();
  const unsigned unsigned_period = 12;
  const Index index_period = 12;
  for (const auto& cosine : {optim::Cosine(size_t_period), optim::Cosine(unsigned_period),
                             optim::Cosine(index_period), optim::Cosine{12},
                             optim::Cosine(short(12), 0.0)})
    CHECK(cosine.t_max == 12);
  REQUIRE_THROWS_WITH(optim::Cosine(std::size_t(0)), Catch::Contains("t_max must be > 0, got 0"));
  REQUIRE_THROWS_WITH(optim::Cosine(-3), Catch::Contains("t_max must be > 0, got -3"));
  REQUIRE_THROWS_WITH(optim::Cosine(std::numeric_limits<std::uint64_t>::max()),
                      Catch::Contains("does not fit"));
}
