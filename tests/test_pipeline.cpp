// The compile-time pipeline: the official code's objective and gradient routing (method.md §4.6)
// and the paper's Algorithm A (§4.5), checked against finite differences of the objectives written
// out term by term; missing-teacher masking; frozen teachers; a small distillation run.

#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/symmetric_kl.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/bind.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>

#include "support/frozen_teacher.hpp"
#include "support/parameter_gradients.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <type_traits>
#include <vector>

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;
using ccl::testing::collect;
using ccl::testing::max_gradient_error;
using ccl::testing::random_matrix;

namespace {

using Matrix = RowMatrix<double>;
using Encoder = ccl::nn::Linear<double>;
using Head = ccl::compose::Residual<double>;

// The terms of one branch computed from scratch with fresh loss objects on the given rows.
struct BranchValues {
  double vm = 0, va = 0, ma = 0, jsd = 0, ce_tv = 0;  // sym(v,tv), sym(v,t), sym(tv,t), J, CE
  double vm_one = 0, va_one = 0;                      // one-direction NCE(v,tv), NCE(v,t)
};

BranchValues branch_values(Head& head, const Matrix& x_v, const Matrix& z_v, const Matrix& x_t,
                           const std::vector<std::int64_t>& y, double tau) {
  ccl::loss::MultiClassNce<double> nce(tau);
  ccl::loss::SymmetricKl<double> jsd(0.5);
  ccl::loss::CrossEntropy<double> ce;
  const auto out = head.forward(x_t, x_v);
  const Matrix x_tv = out.composed.matrix(), z_tv = out.logits.matrix();
  auto value = [&](const Matrix& a, const Matrix& b) {
    return double(nce.accumulate(a, b, y, 1.0, {}, {}));
  };
  BranchValues v;
  v.vm_one = value(x_v, x_tv);
  v.va_one = value(x_v, x_t);
  v.vm = v.vm_one + value(x_tv, x_v);
  v.va = v.va_one + value(x_t, x_v);
  v.ma = value(x_tv, x_t) + value(x_t, x_tv);
  v.jsd = double(jsd.accumulate(z_v, z_tv, y, 1.0, {}, {}));
  v.ce_tv = double(ce.accumulate(z_tv, y, 1.0, {}));
  return v;
}

struct Fixture {
  static constexpr Index batch = 8, in = 5, dim = 4, classes = 3;
  ccl::Rng rng{7};
  Matrix x = random_matrix(batch, in, rng);
  Matrix audio = random_matrix(batch, dim, rng);
  Matrix image = random_matrix(batch, dim, rng);
  std::vector<std::int64_t> y{0, 1, 2, 0, 1, 2, 0, 1};

  Student<Encoder, double> make_student() { return {Encoder(in, dim, rng), dim, classes, rng}; }
  Head make_head() { return Head(dim, dim, classes, rng); }

  // x_v and z_v of the student's current parameters.
  template <class P>
  std::pair<Matrix, Matrix> student_forward(P& pipeline) {
    auto out = pipeline.student().forward(x);
    return {out.embedding.matrix(), out.logits.matrix()};
  }
};

}  // namespace

TEST_CASE("official routing, one teacher: student and head gradients are exactly the code's",
          "[pipeline][routing]") {
  Fixture fx;
  CclObjectiveOptions options;
  options.temperature = 0.5;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>(options)));
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.audio);
  auto& head = pipeline.branch<0>().composition;

  // method.md §4.6, mode A: total_v = CE_v + sym_vm + sym_va + J,
  //                         total_a = CE_av + sym_vm + sym_ma + J.
  auto total_v = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    const BranchValues b = branch_values(head, x_v, z_v, fx.audio, fx.y, 0.5);
    ccl::loss::CrossEntropy<double> ce;
    return double(ce.accumulate(z_v, fx.y, 1.0, {})) + b.vm + b.va + b.jsd;
  };
  auto total_a = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    const BranchValues b = branch_values(head, x_v, z_v, fx.audio, fx.y, 0.5);
    return b.ce_tv + b.vm + b.ma + b.jsd;
  };
  CHECK(double(step.student_objective) == Approx(total_v()).epsilon(1e-12));
  // The head's objective: total_a plus the student's sym_vm and J, which also reach the head.
  auto vm_plus_jsd = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    const BranchValues b = branch_values(head, x_v, z_v, fx.audio, fx.y, 0.5);
    return b.vm + b.jsd;
  };
  CHECK(double(step.branches.at(0).head_total) == Approx(total_a() + vm_plus_jsd()).epsilon(1e-12));

  // Student: ∇ total_v only (the code zeroes the student's gradients after backward(total_a)).
  const auto student_params = collect([&](auto v) { pipeline.for_each_student_parameter(v); });
  CHECK(max_gradient_error(student_params, total_v) < 1e-7);
  // Head: ∇(total_a + total_v) — backward(total_v) adds into the head's gradients.
  const auto head_params = collect([&](auto v) { pipeline.for_each_head_parameter(v); });
  CHECK(max_gradient_error(head_params, [&] { return total_a() + total_v(); }) < 1e-7);
}

TEST_CASE("official routing, two teachers (AI): loss_weight 0.5 and missing audio rows",
          "[pipeline][routing][mask]") {
  Fixture fx;
  // Rows 1 and 6 have no audio: they leave every audio term but keep CE_v and the image branch.
  fx.audio.row(1).setZero();
  fx.audio.row(6).setZero();
  const std::vector<Index> present{0, 2, 3, 4, 5, 7};
  CclObjectiveOptions audio_options, image_options;
  audio_options.temperature = 0.5;
  audio_options.loss_weight = 0.5;
  image_options.temperature = 0.1;
  image_options.loss_weight = 0.5;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>(audio_options)),
      branch<ccl::Image>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>(image_options)));
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.audio, fx.image);
  CHECK(step.branches.at(0).rows == 6);
  CHECK(step.branches.at(1).rows == 8);
  auto& head_a = pipeline.branch<0>().composition;
  auto& head_i = pipeline.branch<1>().composition;

  auto audio_terms = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    const Matrix xa = ccl::gather_rows(fx.audio, present);
    return branch_values(head_a, ccl::gather_rows(x_v, present), ccl::gather_rows(z_v, present),
                         xa, ccl::gather_labels(fx.y, present), 0.5);
  };
  auto image_terms = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    return branch_values(head_i, x_v, z_v, fx.image, fx.y, 0.1);
  };
  auto total_v = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    ccl::loss::CrossEntropy<double> ce;
    const BranchValues a = audio_terms(), i = image_terms();
    return double(ce.accumulate(z_v, fx.y, 1.0, {})) + 0.5 * (a.vm + a.va + i.vm + i.va) +
           0.5 * (a.jsd + i.jsd);
  };
  auto total_a = [&] {
    const BranchValues a = audio_terms();
    return a.ce_tv + a.vm + a.ma + a.jsd;
  };
  auto total_i = [&] {
    const BranchValues i = image_terms();
    return i.ce_tv + i.vm + i.ma + i.jsd;
  };
  CHECK(double(step.student_objective) == Approx(total_v()).epsilon(1e-12));

  const auto student_params = collect([&](auto v) { pipeline.for_each_student_parameter(v); });
  CHECK(max_gradient_error(student_params, total_v) < 1e-7);
  const auto audio_params = collect([&](auto v) { head_a.for_each_parameter(v); });
  CHECK(max_gradient_error(audio_params, [&] { return total_a() + total_v(); }) < 1e-7);
  const auto image_params = collect([&](auto v) { head_i.for_each_parameter(v); });
  CHECK(max_gradient_error(image_params, [&] { return total_i() + total_v(); }) < 1e-7);
}

TEST_CASE("paper routing (Algorithm A): λ-weighted distillation, heads by CE only",
          "[pipeline][routing]") {
  Fixture fx;
  CclObjectiveOptions options;
  options.routing = Routing::paper;
  options.lambda = 0.3;
  options.temperature = 0.2;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Image>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>(options)));
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.image);
  auto& head = pipeline.branch<0>().composition;

  auto terms = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    return branch_values(head, x_v, z_v, fx.image, fx.y, 0.2);
  };
  // L^v = CE + λ·NCE(x_v, x_i) + (1 − λ)·NCE(x_v, x_iv) + JSD; the head: CE(z_iv) only.
  auto student_objective = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    ccl::loss::CrossEntropy<double> ce;
    const BranchValues b = terms();
    return double(ce.accumulate(z_v, fx.y, 1.0, {})) + 0.3 * b.va_one + 0.7 * b.vm_one + b.jsd;
  };
  CHECK(double(step.student_objective) == Approx(student_objective()).epsilon(1e-12));
  const auto student_params = collect([&](auto v) { pipeline.for_each_student_parameter(v); });
  CHECK(max_gradient_error(student_params, student_objective) < 1e-7);
  const auto head_params = collect([&](auto v) { pipeline.for_each_head_parameter(v); });
  CHECK(max_gradient_error(head_params, [&] { return terms().ce_tv; }) < 1e-7);
}

TEST_CASE("a frozen teacher network is never updated and receives no gradient",
          "[pipeline][teacher]") {
  Fixture fx;
  Encoder image_net(Fixture::in, Fixture::dim, fx.rng);
  const Matrix weight_before = image_net.weight().value;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Image>(teacher::Frozen<Encoder, double>(std::move(image_net), Fixture::dim),
                         fx.make_head(), CclObjective<double>()));
  const Matrix frames = random_matrix(Fixture::batch, Fixture::in, fx.rng);
  ccl::testing::expect_teacher_frozen(pipeline, weight_before, fx.x, fx.y, frames);
}

TEST_CASE("a batch whose teacher is missing everywhere skips the branch", "[pipeline][mask]") {
  Fixture fx;
  fx.audio.setZero();
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>()));
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.audio);
  CHECK(step.branches.at(0).rows == 0);
  CHECK(step.student_objective == step.student_ce);
  pipeline.for_each_head_parameter(
      [](ccl::Parameter<double>& p) { CHECK(p.grad.cwiseAbs().maxCoeff() == 0.0); });
}

TEST_CASE("bad pipeline input raises ccl::error", "[pipeline][errors]") {
  Fixture fx;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::dim), fx.make_head(),
                         CclObjective<double>()));
  CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, random_matrix(Fixture::batch, 3, fx.rng)),
                    Catch::Contains("teacher::Precomputed") && Catch::Contains("expected width 4"));
  CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, random_matrix(5, Fixture::dim, fx.rng)),
                    Catch::Contains("audio teacher embeddings has 5 rows"));
  CHECK_THROWS_WITH(pipeline.step(fx.x, std::vector<std::int64_t>{0, 1}, fx.audio),
                    Catch::Contains("2 labels for a batch of 8"));
  CclObjectiveOptions bad;
  bad.temperature = 0;
  CHECK_THROWS_WITH(CclObjective<double>(bad), Catch::Contains("temperature"));
  bad.temperature = 0.5;
  bad.lambda = -0.1;
  CHECK_THROWS_WITH(CclObjective<double>(bad), Catch::Contains("lambda"));
}

TEST_CASE("distillation through the pipeline learns a separable task", "[pipeline][training]") {
  // Four classes; the student sees noisy 16-d inputs, the teachers clean class embeddings.
  ccl::Rng rng(3);
  const Index batch = 32, in = 16, dim = 8, classes = 4;
  const Matrix input_prototypes = random_matrix(classes, in, rng);
  const Matrix teacher_prototypes = random_matrix(classes, dim, rng);
  auto sample = [&](Matrix& x, Matrix& t, std::vector<std::int64_t>& y) {
    x.resize(batch, in);
    t.resize(batch, dim);
    y.resize(batch);
    for (Index i = 0; i < batch; ++i) {
      y[std::size_t(i)] = std::int64_t(rng.index(classes));
      x.row(i) = input_prototypes.row(y[std::size_t(i)]) + random_matrix(1, in, rng, 1.0);
      t.row(i) = teacher_prototypes.row(y[std::size_t(i)]) + random_matrix(1, dim, rng, 0.1);
    }
  };
  auto pipeline = make_pipeline(
      Student<Encoder, double>(Encoder(in, dim, rng), dim, classes, rng),
      branch<ccl::Audio>(teacher::Precomputed<double>(dim), Head(dim, dim, classes, rng),
                         CclObjective<double>()));
  auto accuracy = [&](const Matrix& x, const std::vector<std::int64_t>& y) {
    const auto logits = pipeline.predict(x).matrix();
    int correct = 0;
    for (Index i = 0; i < logits.rows(); ++i) {
      Index best = 0;
      logits.row(i).maxCoeff(&best);
      correct += best == y[std::size_t(i)];
    }
    return double(correct) / double(logits.rows());
  };
  Matrix x, t, x_test, t_test;
  std::vector<std::int64_t> y, y_test;
  sample(x_test, t_test, y_test);
  const double before = accuracy(x_test, y_test);
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 150; ++step) {
    sample(x, t, y);
    pipeline.zero_grad();
    const auto r = pipeline.step(x, y, t);
    if (step < 10) first_loss += double(r.student_objective) / 10;
    if (step >= 140) last_loss += double(r.student_objective) / 10;
    auto sgd = [](ccl::Parameter<double>& p) { p.value -= 0.05 * p.grad; };
    pipeline.for_each_student_parameter(sgd);
    pipeline.for_each_head_parameter(sgd);
  }
  const double after = accuracy(x_test, y_test);
  INFO("accuracy " << before << " -> " << after << ", loss " << first_loss << " -> " << last_loss);
  CHECK(last_loss < 0.85 * first_loss);  // the contrastive terms have a positive floor
  CHECK(after >= 0.85);  // chance is 0.25
}

TEST_CASE("Bind<Scalar, Backend> states the types once and builds the same pipeline",
          "[pipeline][bind]") {
  using P = Bind<double, ccl::cpu>;
  CclObjectiveOptions options;
  options.temperature = 0.5;
  Fixture explicit_fx, bound_fx;  // same seeds: same data and the same initial weights
  auto explicit_pipeline = make_pipeline(
      explicit_fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::dim), explicit_fx.make_head(),
                         CclObjective<double>(options)));
  auto bound_pipeline = make_pipeline(
      P::student(Encoder(Fixture::in, Fixture::dim, bound_fx.rng), Fixture::dim, Fixture::classes,
                 bound_fx.rng),
      branch<ccl::Audio>(P::make<teacher::Precomputed>(Fixture::dim),
                         P::make<ccl::compose::Residual>(Fixture::dim, Fixture::dim,
                                                         Fixture::classes, bound_fx.rng),
                         P::make<CclObjective>(options)));
  static_assert(std::is_same_v<decltype(bound_pipeline), decltype(explicit_pipeline)>,
                "Bind builds the very types of the explicit declaration");

  explicit_pipeline.zero_grad();
  bound_pipeline.zero_grad();
  const auto a = explicit_pipeline.step(explicit_fx.x, explicit_fx.y, explicit_fx.audio);
  const auto b = bound_pipeline.step(bound_fx.x, bound_fx.y, bound_fx.audio);
  CHECK(a.student_objective == b.student_objective);
  CHECK(a.branches.at(0).head_total == b.branches.at(0).head_total);
  std::vector<Matrix> ga, gb;
  explicit_pipeline.for_each_student_parameter([&](auto& p) { ga.push_back(p.grad); });
  bound_pipeline.for_each_student_parameter([&](auto& p) { gb.push_back(p.grad); });
  REQUIRE(ga.size() == gb.size());
  for (std::size_t i = 0; i < ga.size(); ++i) CHECK(ga[i] == gb[i]);
}
