// The Table 1 baselines as pipeline branch objectives (method.md §8): through make_pipeline, the
// student's gradients and the auxiliary modules' gradients equal central finite differences of
// CE(z_v, y) + β · L(x_v, x_t) written out with the baseline loss classes (and the auxiliary
// modules computed by hand); missing-teacher rows are masked, with the dataset indices restricted
// to the kept rows for CRD and CMC; teachers stay frozen; two teachers add their terms; bad input
// raises ccl::error; a checkpoint restores memory banks, normalisation constants and the negative
// sampler, so the continuation is bit-identical. Training runs are in
// test_pipeline_baselines_training.cpp.

#include <ccl/core/rng.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/loss/baselines/fitnet.hpp>
#include <ccl/loss/baselines/ifd.hpp>
#include <ccl/loss/baselines/pkt.hpp>
#include <ccl/loss/baselines/rkd.hpp>
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/pipeline/baseline_objectives.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>

#include "support/temp_dir.hpp"
#include "support/frozen_teacher.hpp"
#include "support/parameter_gradients.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;
namespace objectives = ccl::pipeline::objectives;
namespace bl = ccl::loss::baselines;
using ccl::testing::collect;
using ccl::testing::max_gradient_error;
using ccl::testing::random_matrix;

namespace {

using Matrix = RowMatrix<double>;
using Encoder = ccl::nn::Linear<double>;
using Labels = std::vector<std::int64_t>;

double cross_entropy(const Matrix& logits, const Labels& y) {
  ccl::loss::CrossEntropy<double> ce;
  return double(ce.accumulate(logits, y, 1.0, {}));
}

// y = x Wᵀ + b from a layer's current parameters, written out (independent of Linear::forward).
Matrix linear(const ccl::nn::Linear<double>& layer, const Matrix& x) {
  Matrix y = x * layer.weight().value.transpose();
  y.rowwise() += layer.bias().value.row(0);
  return y;
}

// FitNet's regressor by hand: Linear, then batch norm with the batch's mean and biased variance
// (training mode), γ and β, then ReLU.
Matrix regress(objectives::FitNetObjective<double>& objective, const Matrix& x_v) {
  auto& regressor = objective.regressor();
  const Matrix h = linear(regressor.get<0>().linear(), x_v);
  const auto& bn = regressor.get<1>();
  Matrix out(h.rows(), h.cols());
  for (Index c = 0; c < h.cols(); ++c) {
    const double mean = h.col(c).mean();
    const double var = (h.col(c).array() - mean).square().mean();
    for (Index i = 0; i < h.rows(); ++i) {
      const double normalized = (h(i, c) - mean) / std::sqrt(var + bn.options().eps());
      out(i, c) = std::max(0.0, bn.weight().value(0, c) * normalized + bn.bias().value(0, c));
    }
  }
  return out;
}

template <class Loss>
double pair_value(Loss loss, const Matrix& f_s, const Matrix& f_t, const Labels& y) {
  return double(loss.accumulate(f_s, f_t, y, 1.0, {}, {}));
}

// A training set of 20 samples over 3 classes (label = index mod 3); a batch is 8 of them, in
// an order unrelated to the dataset's, so a wrong index restriction cannot go unnoticed.
struct Fixture {
  static constexpr Index batch = 8, in = 5, dim = 4, teacher_dim = 6, classes = 3, dataset = 20;
  static constexpr Index embed = 6;  // embedding heads (128 in RepDistiller; small for speed)
  ccl::Rng rng{7};
  Labels dataset_labels = make_dataset_labels();
  std::vector<Index> indices{3, 17, 5, 11, 0, 8, 14, 2};
  Labels y = labels_at(indices);
  Matrix x = random_matrix(batch, in, rng);
  Matrix audio = random_matrix(batch, teacher_dim, rng);
  Matrix image = random_matrix(batch, teacher_dim, rng);

  static Labels make_dataset_labels() {
    Labels labels(dataset);
    for (Index i = 0; i < dataset; ++i) labels[std::size_t(i)] = i % classes;
    return labels;
  }
  Labels labels_at(const std::vector<Index>& at) const {
    Labels out;
    for (Index i : at) out.push_back(dataset_labels[std::size_t(i)]);
    return out;
  }

  Student<Encoder, double> make_student() { return {Encoder(in, dim, rng), dim, classes, rng}; }

  template <class P>
  std::pair<Matrix, Matrix> student_forward(P& pipeline) {
    auto out = pipeline.student().forward(x);
    return {out.embedding.matrix(), out.logits.matrix()};
  }
};

bl::MemoryContrastOptions small_bank_options() {
  bl::MemoryContrastOptions options;
  options.negatives = 5;  // fewer than the 13 or 14 samples of other classes: no replacement
  return options;
}

objectives::CrdObjective<double> make_crd(Fixture& fx) {
  objectives::CrdObjectiveOptions options;
  options.embed_dim = Fixture::embed;
  options.loss = small_bank_options();
  return {Fixture::dim, Fixture::teacher_dim, fx.dataset_labels, fx.rng, options};
}

objectives::CmcObjective<double> make_cmc(Fixture& fx) {
  objectives::CmcObjectiveOptions options;
  options.embed_dim = Fixture::embed;
  static_cast<bl::MemoryContrastOptions&>(options.loss) = small_bank_options();
  return {Fixture::dim, Fixture::teacher_dim, Fixture::dataset, fx.rng, options};
}

// The reference of a memory-bank objective: the loss as it was before the step (same banks, same
// sampler state, hence the same contrast indices), Z as the step fixed it, heads by hand.
template <class Objective>
auto memory_reference(Objective& before, Objective& live, const std::vector<Index>& kept) {
  using Loss = typename Objective::loss_type;
  auto loss = std::make_shared<Loss>(before.loss());
  const Labels kept64(kept.begin(), kept.end());
  const auto contrast = std::make_shared<bl::ContrastIndices>(loss->sample(kept64));
  loss->z_student() = live.loss().z_student();
  loss->z_teacher() = live.loss().z_teacher();
  return [&live, loss, contrast](const Matrix& x_v, const Matrix& x_t, const Labels&) {
    const Matrix e_s = linear(live.student_head(), x_v);
    const Matrix e_t = linear(live.teacher_head(), x_t);
    return double(loss->score(e_s, e_t, *contrast, 1.0, {}, {}));
  };
}

// Runs one step of a single-branch pipeline (audio rows 1 and 6 missing when `mask`) and checks
// the student's and the objective's gradients against finite differences of
// CE + β · reference(x_v rows, x_t rows, y rows). `make_reference(before, live, kept indices)`
// builds the reference from a copy of the objective taken before the step and the live one.
template <class Objective, class MakeReference>
Objective check_branch(Fixture& fx, Objective objective, double beta, bool mask,
                       MakeReference&& make_reference, double tolerance = 1e-7) {
  std::vector<Index> rows{0, 1, 2, 3, 4, 5, 6, 7};
  if (mask) {
    fx.audio.row(1).setZero();
    fx.audio.row(6).setZero();
    rows = {0, 2, 3, 4, 5, 7};
  }
  auto pipeline = make_pipeline(
      fx.make_student(), branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                                            NoComposition<double>{}, std::move(objective)));
  auto& live = pipeline.template branch<0>().objective;
  Objective before = live;
  pipeline.set_batch_indices(fx.indices);
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.audio);

  std::vector<Index> kept;
  for (Index r : rows) kept.push_back(fx.indices[std::size_t(r)]);
  auto distill = make_reference(before, live, kept);
  const Matrix x_t = ccl::gather_rows(fx.audio, rows);
  const Labels y = ccl::gather_labels(fx.y, rows);
  auto distill_now = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    return distill(ccl::gather_rows(x_v, rows), x_t, y);
  };
  auto total = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    return cross_entropy(z_v, fx.y) + beta * distill(ccl::gather_rows(x_v, rows), x_t, y);
  };

  CHECK(step.branches.at(0).rows == Index(rows.size()));
  CHECK(double(step.branches.at(0).student_total) == Approx(beta * distill_now()).epsilon(1e-10));
  CHECK(double(step.student_objective) == Approx(total()).epsilon(1e-10));
  const auto student_params = collect([&](auto v) { pipeline.for_each_student_parameter(v); });
  CHECK(max_gradient_error(student_params, total) < tolerance);
  // Auxiliary modules minimise the same β · L (CE does not depend on them).
  const auto aux_params = collect([&](auto v) { pipeline.for_each_head_parameter(v); });
  if (!aux_params.empty()) {
    CHECK(double(step.branches.at(0).head_total) == Approx(beta * distill_now()).epsilon(1e-10));
    CHECK(max_gradient_error(aux_params, total) < tolerance);
  } else {
    CHECK(step.branches.at(0).head_total == 0.0);
  }
  return live;
}

template <class Loss>
auto pair_reference() {
  return [](auto&, auto&, const std::vector<Index>&) {
    return [](const Matrix& x_v, const Matrix& x_t, const Labels& y) {
      return pair_value(Loss{}, x_v, x_t, y);
    };
  };
}

}  // namespace

TEST_CASE("PKT, RKD and IFD branches: student gradients of CE + β·L", "[pipeline][baselines]") {
  for (const bool mask : {false, true}) {
    INFO("missing audio rows: " << mask);
    Fixture pkt, rkd, ifd;
    check_branch(pkt, objectives::PktObjective<double>(), 30000.0, mask,
                 pair_reference<bl::Pkt<double>>());
    check_branch(rkd, objectives::RkdObjective<double>(), 1.0, mask,
                 pair_reference<bl::Rkd<double>>());
    check_branch(ifd, objectives::IfdObjective<double>(), objectives::ifd_default_beta, mask,
                 pair_reference<bl::Ifd<double>>());
  }
  // β defaults and overrides.
  CHECK(objectives::PktObjective<double>().beta() == 30000.0);
  CHECK(objectives::RkdObjective<float>().beta() == 1.0);
  CHECK(objectives::IfdObjective<float>().beta() == 600.0);
  Fixture fx;
  check_branch(fx, objectives::PktObjective<double>(bl::Pkt<double>(), 5.0), 5.0, false,
               pair_reference<bl::Pkt<double>>());
}

TEST_CASE("FitNet branch: regressor Linear → BatchNorm1d → ReLU, student and regressor gradients",
          "[pipeline][baselines]") {
  for (const bool mask : {false, true}) {
    INFO("missing audio rows: " << mask);
    Fixture fx;
    objectives::FitNetObjective<double> objective(Fixture::dim, Fixture::teacher_dim, fx.rng);
    CHECK(objective.beta() == 100.0);
    // Non-trivial γ and β, so that the batch norm's parameters matter.
    auto& bn = objective.regressor().get<1>();
    bn.weight().value << 1.2, 0.8, 1.5, 0.9, 1.1, 0.7;
    bn.bias().value << 0.3, -0.2, 0.5, 0.1, 0.4, 0.2;
    auto live = check_branch(
        fx, std::move(objective), 100.0, mask, [](auto&, auto& live_objective, const auto&) {
          return [&live_objective](const Matrix& x_v, const Matrix& x_t, const Labels& y) {
            return pair_value(bl::FitNet<double>(), regress(live_objective, x_v), x_t, y);
          };
        });
    // Parameter names for optimisers and checkpoints; running statistics are buffers.
    std::vector<std::string> names, buffers;
    live.for_each_parameter([&](ccl::Parameter<double>& p) { names.push_back(p.name); });
    live.for_each_buffer([&](const std::string& name, Matrix&) { buffers.push_back(name); });
    CHECK(names == std::vector<std::string>{"regressor.0.weight", "regressor.0.bias",
                                            "regressor.1.weight", "regressor.1.bias"});
    CHECK(buffers == std::vector<std::string>{"regressor.1.running_mean",
                                              "regressor.1.running_var"});
    bool moved = false;  // the step updated the running mean
    live.for_each_buffer([&](const std::string& name, Matrix& value) {
      if (name == "regressor.1.running_mean") moved = value.cwiseAbs().maxCoeff() > 0;
    });
    CHECK(moved);
  }
}

TEST_CASE("COR branch: two trainable LinearEmbed heads", "[pipeline][baselines]") {
  for (const bool mask : {false, true}) {
    INFO("missing audio rows: " << mask);
    Fixture fx;
    objectives::CorObjective<double> objective(Fixture::dim, Fixture::teacher_dim, fx.rng,
                                               objectives::CorObjective<double>::default_beta,
                                               Fixture::embed);
    CHECK(objective.beta() == 0.02);
    auto live = check_branch(
        fx, std::move(objective), 0.02, mask, [](auto&, auto& live_objective, const auto&) {
          return [&live_objective](const Matrix& x_v, const Matrix& x_t, const Labels& y) {
            return pair_value(bl::CorrelationCongruence<double>(),
                              linear(live_objective.student_head(), x_v),
                              linear(live_objective.teacher_head(), x_t), y);
          };
        });
    std::vector<std::string> names;
    live.for_each_parameter([&](ccl::Parameter<double>& p) { names.push_back(p.name); });
    CHECK(names == std::vector<std::string>{"embed_student.weight", "embed_student.bias",
                                            "embed_teacher.weight", "embed_teacher.bias"});
  }
}

TEST_CASE("CRD and CMC branches: heads, memory banks, dataset indices of the kept rows",
          "[pipeline][baselines][mask]") {
  for (const bool mask : {false, true}) {
    INFO("missing audio rows: " << mask);
    {
      Fixture fx;
      auto crd = make_crd(fx);
      CHECK(crd.beta() == 0.8);
      const Matrix bank_before = crd.loss().memory_student();
      const std::vector<Index> rows =
          mask ? std::vector<Index>{0, 2, 3, 4, 5, 7} : std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7};
      std::vector<Index> seen_kept;
      auto live = check_branch(
          fx, std::move(crd), 0.8, mask,
          [&](auto& before, auto& live_objective, const std::vector<Index>& kept) {
            seen_kept = kept;
            return memory_reference(before, live_objective, kept);
          },
          1e-6);  // T = 0.07 magnifies rounding in the differences
      // Exactly the kept rows' dataset indices moved in the banks (the momentum update).
      const Matrix& bank_after = live.loss().memory_student();
      for (Index i = 0; i < Fixture::dataset; ++i) {
        const bool kept = std::find(seen_kept.begin(), seen_kept.end(), i) != seen_kept.end();
        INFO("dataset index " << i);
        CHECK((bank_after.row(i).array() != bank_before.row(i).array()).any() == kept);
      }
      CHECK(seen_kept.size() == rows.size());
      // The masked rows' indices (17 and 14) are not among them.
      if (mask) CHECK(std::find(seen_kept.begin(), seen_kept.end(), 17) == seen_kept.end());
      CHECK(live.loss().z_student() > 0);  // Z fixed at the first batch
    }
    {
      Fixture fx;
      auto live = check_branch(
          fx, make_cmc(fx), 0.8, mask,
          [](auto& before, auto& live_objective, const std::vector<Index>& kept) {
            return memory_reference(before, live_objective, kept);
          },
          1e-6);
      CHECK(live.beta() == 0.8);
    }
  }
}

TEST_CASE("two teachers (AI): the branches' terms add up", "[pipeline][baselines]") {
  Fixture fx;
  fx.audio.row(1).setZero();
  fx.audio.row(6).setZero();
  const std::vector<Index> rows{0, 2, 3, 4, 5, 7};
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                         NoComposition<double>{}, make_crd(fx)),
      branch<ccl::Image>(teacher::Precomputed<double>(Fixture::teacher_dim),
                         NoComposition<double>{},
                         objectives::FitNetObjective<double>(Fixture::dim, Fixture::teacher_dim,
                                                             fx.rng)));
  auto& crd = pipeline.branch<0>().objective;
  auto& fitnet = pipeline.branch<1>().objective;
  auto crd_before = crd;
  pipeline.set_batch_indices(fx.indices);
  pipeline.zero_grad();
  const auto step = pipeline.step(fx.x, fx.y, fx.audio, fx.image);
  CHECK(step.branches.at(0).rows == 6);
  CHECK(step.branches.at(1).rows == 8);

  std::vector<Index> kept;
  for (Index r : rows) kept.push_back(fx.indices[std::size_t(r)]);
  auto crd_distill = memory_reference(crd_before, crd, kept);
  const Matrix audio_rows = ccl::gather_rows(fx.audio, rows);
  const Labels y_rows = ccl::gather_labels(fx.y, rows);
  auto total = [&] {
    auto [x_v, z_v] = fx.student_forward(pipeline);
    return cross_entropy(z_v, fx.y) +
           0.8 * crd_distill(ccl::gather_rows(x_v, rows), audio_rows, y_rows) +
           100.0 * pair_value(bl::FitNet<double>(), regress(fitnet, x_v), fx.image, fx.y);
  };
  CHECK(double(step.student_objective) == Approx(total()).epsilon(1e-10));
  const auto student_params = collect([&](auto v) { pipeline.for_each_student_parameter(v); });
  CHECK(max_gradient_error(student_params, total) < 1e-6);
  const auto aux_params = collect([&](auto v) { pipeline.for_each_head_parameter(v); });
  CHECK(aux_params.size() == 8);  // 4 CRD head tensors, 4 regressor tensors
  CHECK(max_gradient_error(aux_params, total) < 1e-6);
  // Modules for optimisers and checkpoints: "objective.<branch>".
  std::vector<std::string> modules;
  pipeline.for_each_trainable_module(
      [&](const std::string& name, auto&) { modules.push_back(name); });
  CHECK(modules == std::vector<std::string>{"student", "head.audio", "objective.audio",
                                            "head.image", "objective.image"});
}

TEST_CASE("a frozen teacher network is never updated by a baseline branch",
          "[pipeline][baselines][teacher]") {
  Fixture fx;
  Encoder image_net(Fixture::in, Fixture::teacher_dim, fx.rng);
  const Matrix weight_before = image_net.weight().value;
  auto pipeline = make_pipeline(
      fx.make_student(),
      branch<ccl::Image>(
          teacher::Frozen<Encoder, double>(std::move(image_net), Fixture::teacher_dim),
          NoComposition<double>{},
          objectives::CorObjective<double>(Fixture::dim, Fixture::teacher_dim, fx.rng, 0.02,
                                           Fixture::embed)));
  const Matrix teacher_head_before =
      pipeline.branch<0>().objective.teacher_head().weight().value;
  const Matrix frames = random_matrix(Fixture::batch, Fixture::in, fx.rng);
  ccl::testing::expect_teacher_frozen(pipeline, weight_before, fx.x, fx.y, frames);
  // The teacher's embedding head is trainable (it is not the teacher).
  CHECK((pipeline.branch<0>().objective.teacher_head().weight().value.array() !=
         teacher_head_before.array())
            .any());
}

TEST_CASE("edge cases: a one-row FitNet branch, and bad input raises ccl::error",
          "[pipeline][baselines][errors]") {
  Fixture fx;
  SECTION("a single row with a teacher contributes nothing to FitNet (no batch statistics)") {
    Matrix audio = Matrix::Zero(Fixture::batch, Fixture::teacher_dim);
    audio.row(2) = fx.audio.row(2);
    auto pipeline = make_pipeline(
        fx.make_student(),
        branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                           NoComposition<double>{},
                           objectives::FitNetObjective<double>(Fixture::dim, Fixture::teacher_dim,
                                                               fx.rng)));
    pipeline.zero_grad();
    const auto step = pipeline.step(fx.x, fx.y, audio);
    CHECK(step.branches.at(0).rows == 1);
    CHECK(step.branches.at(0).student_total == 0.0);
    CHECK(step.student_objective == step.student_ce);
  }
  SECTION("memory-bank objectives need the rows' dataset indices") {
    auto pipeline = make_pipeline(
        fx.make_student(), branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                                              NoComposition<double>{}, make_crd(fx)));
    CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, fx.audio),
                      Catch::Contains("set_batch_indices() with 8 indices"));
    pipeline.set_batch_indices({1, 2, 3});
    CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, fx.audio), Catch::Contains("(got 3)"));
    // Indices whose dataset labels disagree with the batch's labels (a shifted index list).
    pipeline.set_batch_indices({4, 18, 6, 12, 1, 9, 15, 3});
    CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, fx.audio),
                      Catch::Contains("crd: label[0]") && Catch::Contains("index 4"));
    pipeline.set_batch_indices({3, 17, 5, 11, 0, 8, 14, 20});
    CHECK_THROWS_WITH(pipeline.step(fx.x, fx.y, fx.audio),
                      Catch::Contains("outside the dataset [0, 20)"));
    // Called directly, without the pipeline: no indices is an error, not a reuse.
    auto cmc = make_cmc(fx);
    NoComposition<double> none;
    const Matrix x_v = random_matrix(Fixture::batch, Fixture::dim, fx.rng);
    Matrix grad = Matrix::Zero(Fixture::batch, Fixture::dim);
    CHECK_THROWS_WITH(cmc.accumulate(none, x_v, {}, fx.audio, fx.y, ccl::mutable_view(grad), {}),
                      Catch::Contains("CmcObjective: no dataset indices"));
  }
  SECTION("bad settings and shapes") {
    CHECK_THROWS_WITH(objectives::PktObjective<double>(bl::Pkt<double>(), -1.0),
                      Catch::Contains("PairObjective: beta") && Catch::Contains("-1"));
    CHECK_THROWS_WITH(
        objectives::FitNetObjective<double>(Fixture::dim, Fixture::teacher_dim, fx.rng, NAN),
        Catch::Contains("FitNetObjective: beta"));
    CHECK_THROWS_WITH(objectives::FitNetObjective<double>(0, Fixture::teacher_dim, fx.rng),
                      Catch::Contains("must be positive"));
    CHECK_THROWS_WITH(objectives::CorObjective<double>(Fixture::dim, Fixture::teacher_dim,
                                                       fx.rng, 0.02, 0),
                      Catch::Contains("embed_student head needs positive sizes"));
    objectives::FitNetObjective<double> fitnet(Fixture::dim, Fixture::teacher_dim, fx.rng);
    NoComposition<double> none;
    const Matrix x_v = random_matrix(Fixture::batch, Fixture::dim + 1, fx.rng);
    CHECK_THROWS_WITH(fitnet.accumulate(none, x_v, {}, fx.audio, fx.y, {}, {}),
                      Catch::Contains("regressor takes 4-d student embeddings"));
    auto crd = make_crd(fx);
    crd.set_indices(fx.indices);
    const Matrix x_v4 = random_matrix(Fixture::batch, Fixture::dim, fx.rng);
    CHECK_THROWS_WITH(crd.accumulate(none, x_v4, {}, x_v4, fx.y, {}, {}),
                      Catch::Contains("but the heads take 4-d and 6-d inputs"));
    auto pkt = objectives::PktObjective<double>();
    CHECK_THROWS_WITH(pkt.accumulate(none, x_v4, {}, fx.audio.topRows(3).eval(), fx.y, {}, {}),
                      Catch::Contains("PairObjective"));
  }
  SECTION("a corrupt sampler state in the buffers is refused at the next step") {
    auto crd = make_crd(fx);
    crd.for_each_buffer([](const std::string& name, auto& value) {
      if (name == "sampler_state") value(0, 0) = 1e9;
    });
    crd.set_indices(fx.indices);
    NoComposition<double> none;
    const Matrix x_v4 = random_matrix(Fixture::batch, Fixture::dim, fx.rng);
    CHECK_THROWS_WITH(crd.accumulate(none, x_v4, {}, fx.audio, fx.y, {}, {}),
                      Catch::Contains("CrdObjective: the sampler state buffer is corrupt"));
  }
}

namespace {

using ccl::test::temp_path;

// A state snapshot of everything a step changes in a CRD objective.
struct CrdState {
  Matrix memory_student, memory_teacher;
  double z_student = 0, z_teacher = 0;
  std::string sampler;
};
CrdState state_of(objectives::CrdObjective<double>& crd) {
  return {crd.loss().memory_student(), crd.loss().memory_teacher(), crd.loss().z_student(),
          crd.loss().z_teacher(), crd.loss().rng().state()};
}
bool bitwise_equal(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * std::size_t(a.size())) == 0;
}

}  // namespace

TEST_CASE("a checkpoint restores a CRD branch's banks, Z and sampler: identical continuation",
          "[pipeline][baselines][checkpoint]") {
  Fixture fx;
  auto pipeline = make_pipeline(
      fx.make_student(), branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                                            NoComposition<double>{}, make_crd(fx)));
  auto& crd = pipeline.branch<0>().objective;
  ccl::io::Checkpoint checkpoint;
  pipeline.for_each_trainable_module(
      [&](const std::string& name, auto& module) { checkpoint.add_module(name, module); });
  // Two batches over different dataset indices, alternated; plain SGD on everything.
  const std::vector<Index> second{1, 4, 7, 10, 13, 16, 19, 6};
  auto run_step = [&](int k) {
    const auto& indices = k % 2 ? second : fx.indices;
    pipeline.set_batch_indices(indices);
    pipeline.zero_grad();
    const double value =
        double(pipeline.step(fx.x, fx.labels_at(indices), fx.audio).student_objective);
    auto sgd = [](ccl::Parameter<double>& p) { p.value -= 0.05 * p.grad; };
    pipeline.for_each_student_parameter(sgd);
    pipeline.for_each_head_parameter(sgd);
    return value;
  };
  run_step(0);
  run_step(1);
  const std::string path = temp_path("crd_branch.ckpt");
  checkpoint.save(path);
  const CrdState saved = state_of(crd);
  std::vector<double> straight;
  for (int k = 2; k < 5; ++k) straight.push_back(run_step(k));
  const CrdState after_straight = state_of(crd);
  CHECK(!bitwise_equal(after_straight.memory_student, saved.memory_student));

  checkpoint.load(path);
  // The banks are restored at once; Z and the sampler on the next step (they live in the loss).
  CHECK(bitwise_equal(crd.loss().memory_student(), saved.memory_student));
  CHECK(bitwise_equal(crd.loss().memory_teacher(), saved.memory_teacher));
  std::vector<double> resumed;
  for (int k = 2; k < 5; ++k) resumed.push_back(run_step(k));
  CHECK(resumed == straight);  // bit-identical values
  const CrdState after_resumed = state_of(crd);
  CHECK(bitwise_equal(after_resumed.memory_student, after_straight.memory_student));
  CHECK(bitwise_equal(after_resumed.memory_teacher, after_straight.memory_teacher));
  CHECK(after_resumed.z_student == after_straight.z_student);
  CHECK(after_resumed.sampler == after_straight.sampler);

  // A checkpoint of a differently sized training set is refused, naming the bank.
  Fixture other;
  other.dataset_labels.push_back(0);
  objectives::CrdObjectiveOptions options;
  options.embed_dim = Fixture::embed;
  options.loss = small_bank_options();
  auto wider = make_pipeline(
      other.make_student(),
      branch<ccl::Audio>(teacher::Precomputed<double>(Fixture::teacher_dim),
                         NoComposition<double>{},
                         objectives::CrdObjective<double>(Fixture::dim, Fixture::teacher_dim,
                                                          other.dataset_labels, other.rng,
                                                          options)));
  ccl::io::Checkpoint mismatched;
  wider.for_each_trainable_module(
      [&](const std::string& name, auto& module) { mismatched.add_module(name, module); });
  CHECK_THROWS_WITH(mismatched.load(path), Catch::Contains("memory_student") &&
                                               Catch::Contains("[20, 6]") &&
                                               Catch::Contains("[21, 6]"));
}
