// The Table 1 baseline objectives in training runs (float): the Trainer learns through every
// objective, with missing audio rows masked and the dataset indices the Trainer passes, and a run
// with a CRD (audio) and a FitNet (image) branch resumes bit-identically from its checkpoint —
// memory banks, Z constants, the negative sampler's generator and batch-norm running statistics
// included. The gradient checks are in test_pipeline_baselines.cpp.

#include "support/temp_dir.hpp"
#include <ccl/core/rng.hpp>
#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/baseline_objectives.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

using ccl::Index;
using ccl::RowMatrix;
using namespace ccl::pipeline;
namespace objectives = ccl::pipeline::objectives;
namespace bl = ccl::loss::baselines;

namespace {

using MatrixF = RowMatrix<float>;
using Labels = std::vector<std::int64_t>;

using ccl::test::temp_path;

// Four classes; the student sees noisy 16-d inputs, the teachers clean 8-d class embeddings
// (non-negative, like the official teachers' features); every tenth clip has no audio.
template <int Teachers>
struct VectorSet {
  MatrixF inputs, audio, image;
  Labels labels;

  struct Batch {
    MatrixF input;
    Labels labels;
    std::conditional_t<Teachers == 1, std::tuple<MatrixF>, std::tuple<MatrixF, MatrixF>>
        teacher_inputs;
  };

  VectorSet(Index n, std::uint64_t seed)
      : inputs(n, 16), audio(n, 8), image(n, 8), labels(std::size_t(n)) {
    ccl::Rng rng(seed), prototypes(99);
    MatrixF input_prototypes(4, 16), teacher_prototypes(4, 8);
    prototypes.fill_normal(input_prototypes);
    prototypes.fill_uniform(teacher_prototypes, 0.0, 2.0);
    for (Index i = 0; i < n; ++i) {
      const Index y = rng.index(4);
      labels[std::size_t(i)] = y;
      for (Index k = 0; k < 16; ++k) inputs(i, k) = input_prototypes(y, k) + float(rng.normal());
      for (Index k = 0; k < 8; ++k) {
        audio(i, k) = teacher_prototypes(y, k) + float(rng.uniform(0.0, 0.2));
        image(i, k) = teacher_prototypes(y, k) + float(rng.uniform(0.0, 0.2));
      }
      if (i % 10 == 9) audio.row(i).setZero();
    }
  }

  Index size() const { return Index(labels.size()); }

  Batch load(const std::vector<Index>& indices) const {
    Batch batch;
    const Index b = Index(indices.size());
    batch.input.resize(b, 16);
    MatrixF a(b, 8), im(b, 8);
    for (Index r = 0; r < b; ++r) {
      const Index i = indices[std::size_t(r)];
      batch.input.row(r) = inputs.row(i);
      a.row(r) = audio.row(i);
      im.row(r) = image.row(i);
      batch.labels.push_back(labels[std::size_t(i)]);
    }
    if constexpr (Teachers == 1) {
      batch.teacher_inputs = std::make_tuple(std::move(a));
    } else {
      batch.teacher_inputs = std::make_tuple(std::move(a), std::move(im));
    }
    return batch;
  }
};

using StudentF = Student<ccl::nn::Linear<float>, float>;

StudentF make_student_f(ccl::Rng& rng) { return {ccl::nn::Linear<float>(16, 8, rng), 8, 4, rng}; }

template <class P>
void add_groups(ccl::optim::Sgd<float>& sgd, P& pipeline, double lr) {
  ccl::optim::SgdOptions options = ccl::optim::SgdOptions::official();
  options.lr = lr;
  ccl::pipeline::add_optimizer_groups(sgd, pipeline, options, options);
}

template <class MakeObjective>
void check_training(const char* method, MakeObjective&& make_objective) {
  const VectorSet<1> train(160, 1), test(80, 2);
  ccl::Rng rng(5);
  auto student = make_student_f(rng);
  auto pipeline =
      make_pipeline(std::move(student), branch<ccl::Audio>(teacher::Precomputed<float>(8),
                                                           NoComposition<float>{},
                                                           make_objective(rng, train.labels)));
  ccl::optim::Sgd<float> sgd;
  add_groups(sgd, pipeline, 0.05);
  TrainerOptions options;
  options.epochs = 8;
  options.batch_size = 16;
  options.progress = ProgressStyle::none;
  Trainer trainer(pipeline, sgd, options);
  const double before = trainer.evaluate(test).top(1);
  const auto reports = trainer.fit(train, &test);
  const double after = reports.back().eval.top(1);
  INFO(method << ": top-1 " << before << " -> " << after << ", objective "
              << reports.front().loss << " -> " << reports.back().loss);
  CHECK(std::isfinite(reports.back().loss));
  CHECK(reports.back().loss < reports.front().loss);
  CHECK(after > before + 0.2);
  CHECK(after > 0.7);  // chance: 0.25
}

bl::MemoryContrastOptions training_bank_options() {
  bl::MemoryContrastOptions options;
  options.negatives = 64;
  return options;
}

}  // namespace

TEST_CASE("the Trainer learns with every baseline objective (float)",
          "[pipeline][baselines][training]") {
  check_training("PKT", [](ccl::Rng&, const Labels&) { return objectives::PktObjective<float>(); });
  check_training("RKD", [](ccl::Rng&, const Labels&) { return objectives::RkdObjective<float>(); });
  check_training("IFD", [](ccl::Rng&, const Labels&) { return objectives::IfdObjective<float>(); });
  check_training("FitNet", [](ccl::Rng& rng, const Labels&) {
    return objectives::FitNetObjective<float>(8, 8, rng);
  });
  check_training("COR", [](ccl::Rng& rng, const Labels&) {
    return objectives::CorObjective<float>(8, 8, rng);
  });
  check_training("CRD", [](ccl::Rng& rng, const Labels& labels) {
    objectives::CrdObjectiveOptions options;
    options.loss = training_bank_options();
    return objectives::CrdObjective<float>(8, 8, labels, rng, options);
  });
  check_training("CMC", [](ccl::Rng& rng, const Labels& labels) {
    objectives::CmcObjectiveOptions options;
    static_cast<bl::MemoryContrastOptions&>(options.loss) = training_bank_options();
    return objectives::CmcObjective<float>(8, 8, Index(labels.size()), rng, options);
  });
}

namespace {

auto make_ai_pipeline(const Labels& train_labels) {
  ccl::Rng rng(11);
  auto student = make_student_f(rng);
  objectives::CrdObjectiveOptions crd;
  crd.loss = training_bank_options();
  return make_pipeline(
      std::move(student),
      branch<ccl::Audio>(teacher::Precomputed<float>(8), NoComposition<float>{},
                         objectives::CrdObjective<float>(8, 8, train_labels, rng, crd)),
      branch<ccl::Image>(teacher::Precomputed<float>(8), NoComposition<float>{},
                         objectives::FitNetObjective<float>(8, 8, rng)));
}

template <class P>
std::vector<MatrixF> snapshot(P& pipeline) {
  std::vector<MatrixF> out;
  pipeline.for_each_student_parameter([&](ccl::Parameter<float>& p) { out.push_back(p.value); });
  pipeline.for_each_head_parameter([&](ccl::Parameter<float>& p) { out.push_back(p.value); });
  auto add_buffer = [&](const std::string&, auto& value) {
    MatrixF as_float = value.template cast<float>();
    out.push_back(as_float);
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, RowMatrix<double>>) {
      // double buffers (Z, the sampler): compare them exactly, not through a float.
      MatrixF bits(value.rows(), 2 * value.cols());
      std::memcpy(bits.data(), value.data(), sizeof(double) * std::size_t(value.size()));
      out.push_back(bits);
    }
  };
  pipeline.template branch<0>().objective.for_each_buffer(add_buffer);
  pipeline.template branch<1>().objective.for_each_buffer(add_buffer);
  return out;
}

bool bitwise_equal(const std::vector<MatrixF>& a, const std::vector<MatrixF>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].rows() != b[i].rows() || a[i].cols() != b[i].cols()) return false;
    if (std::memcmp(a[i].data(), b[i].data(), sizeof(float) * std::size_t(a[i].size())) != 0)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("Trainer resume with CRD (audio) + FitNet (image) branches is bit-identical",
          "[pipeline][baselines][checkpoint][training]") {
  const VectorSet<2> train(96, 3), test(48, 4);
  auto run = [&](Index epochs, const std::string& checkpoint) {
    auto pipeline = make_ai_pipeline(train.labels);
    ccl::optim::Sgd<float> sgd;
    add_groups(sgd, pipeline, 0.05);
    TrainerOptions options;
    options.epochs = epochs;
    options.batch_size = 16;
    options.seed = 21;
    options.progress = ProgressStyle::none;
    options.checkpoint_path = checkpoint;
    Trainer trainer(pipeline, sgd, options);
    const auto reports = trainer.fit(train, &test);
    return std::make_pair(snapshot(pipeline), reports.empty() ? 0.0 : reports.back().eval.top(1));
  };
  const std::string straight = temp_path("ai_straight.ckpt");
  const std::string resumed = temp_path("ai_resumed.ckpt");
  std::remove(straight.c_str());
  std::remove(resumed.c_str());
  const auto uninterrupted = run(4, straight);
  const auto first_half = run(2, resumed);
  const auto second_half = run(4, resumed);  // a fresh pipeline, as a new process would build
  CHECK(!bitwise_equal(first_half.first, uninterrupted.first));
  CHECK(bitwise_equal(second_half.first, uninterrupted.first));
  CHECK(second_half.second == uninterrupted.second);
  CHECK(uninterrupted.second > 0.6);
}
