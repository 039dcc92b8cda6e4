// The Trainer: learning through the pipeline, evaluation, the JSON-lines log, bit-identical resume
// from a checkpoint (with a conv + batch-norm student, so running statistics and momentum buffers
// must survive), and bad checkpoints.

#include "support/temp_dir.hpp"
#include <ccl/compose/residual.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

using ccl::Index;
using namespace ccl::pipeline;

namespace {

using Matrix = ccl::RowMatrix<float>;
using Image = ccl::nn::Tensor<float, 4>;

// Four classes of 1x6x6 "images": a class-specific pattern plus noise; teachers get clean 8-d
// class embeddings (plus noise), as a frozen, well-trained teacher would produce.
struct ImageSet {
  Image images;
  Matrix teacher;
  std::vector<std::int64_t> labels;

  struct Batch {
    Image input;
    std::vector<std::int64_t> labels;
    std::tuple<Matrix> teacher_inputs;
  };

  ImageSet(Index n, std::uint64_t seed) : images({n, 1, 6, 6}), teacher(n, 8), labels(std::size_t(n)) {
    ccl::Rng rng(seed), prototypes_rng(99);
    Matrix patterns(4, 36), embeddings(4, 8);
    prototypes_rng.fill_normal(patterns);
    prototypes_rng.fill_normal(embeddings);
    for (Index i = 0; i < n; ++i) {
      const Index y = rng.index(4);
      labels[std::size_t(i)] = y;
      for (Index k = 0; k < 36; ++k) {
        images.data()[i * 36 + k] = patterns(y, k) + float(rng.normal(0.0, 0.8));
      }
      for (Index k = 0; k < 8; ++k) teacher(i, k) = embeddings(y, k) + float(rng.normal(0.0, 0.1));
    }
  }

  Index size() const { return Index(labels.size()); }

  Batch load(const std::vector<Index>& indices) const {
    Batch batch{Image({Index(indices.size()), 1, 6, 6}), {}, {Matrix(Index(indices.size()), 8)}};
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const Index i = indices[r];
      std::copy(images.data() + i * 36, images.data() + (i + 1) * 36, batch.input.data() + r * 36);
      std::get<0>(batch.teacher_inputs).row(Index(r)) = teacher.row(i);
      batch.labels.push_back(labels[std::size_t(i)]);
    }
    return batch;
  }
};

auto make_encoder(ccl::Rng& rng) {
  namespace nn = ccl::nn;
  return nn::sequential(nn::Conv2d<float>(nn::ConvOptions<2>(1, 8, 3).padding(1), rng),
                        nn::BatchNorm2d<float>(8), nn::ReLU<float, 4>{},
                        nn::GlobalAvgPool<float, 2>{});
}

auto make_pipeline_for_test(std::uint64_t seed) {
  ccl::Rng rng(seed);
  auto encoder = make_encoder(rng);
  Student<decltype(encoder), float> student(std::move(encoder), 8, 4, rng);
  return make_pipeline(std::move(student),
                       branch<ccl::Audio>(teacher::Precomputed<float>(8),
                                          ccl::compose::Residual<float>(8, 8, 4, rng),
                                          CclObjective<float>()));
}

template <class P>
void add_groups(ccl::optim::Sgd<float>& sgd, P& pipeline, double lr) {
  ccl::optim::SgdOptions options = ccl::optim::SgdOptions::official();
  options.lr = lr;
  ccl::pipeline::add_optimizer_groups(sgd, pipeline, options, options);
}

template <class P>
std::vector<Matrix> snapshot(P& pipeline) {
  std::vector<Matrix> out;
  pipeline.for_each_student_parameter([&](ccl::Parameter<float>& p) { out.push_back(p.value); });
  pipeline.for_each_head_parameter([&](ccl::Parameter<float>& p) { out.push_back(p.value); });
  pipeline.student().for_each_buffer(
      [&](const std::string&, Matrix& value) { out.push_back(value); });
  return out;
}

bool bitwise_equal(const std::vector<Matrix>& a, const std::vector<Matrix>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].rows() != b[i].rows() || a[i].cols() != b[i].cols()) return false;
    if (std::memcmp(a[i].data(), b[i].data(), sizeof(float) * std::size_t(a[i].size())) != 0)
      return false;
  }
  return true;
}

using ccl::test::temp_path;

}  // namespace

TEST_CASE("the trainer learns, evaluates and logs one JSON line per epoch", "[trainer]") {
  const ImageSet train(192, 1), test(96, 2);
  auto pipeline = make_pipeline_for_test(5);
  ccl::optim::Sgd<float> sgd;
  add_groups(sgd, pipeline, 0.05);
  TrainerOptions options;
  options.epochs = 12;
  options.batch_size = 16;
  options.progress = ProgressStyle::none;
  options.log_path = temp_path("trainer_log.jsonl");
  std::remove(options.log_path.c_str());
  Trainer trainer(pipeline, sgd, options);

  const double before = trainer.evaluate(test).top(1);
  const auto reports = trainer.fit(train, &test);
  REQUIRE(reports.size() == 12);
  INFO("top-1 before " << before << ", after " << reports.back().eval.top(1));
  CHECK(reports.back().loss < reports.front().loss);
  CHECK(reports.back().eval.top(1) > 0.6);  // chance: 0.25
  CHECK(reports.back().eval.top(5) == 1.0);  // only 4 classes

  std::ifstream log(options.log_path);
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    CHECK(line.find("\"epoch\":" + std::to_string(lines)) != std::string::npos);
    CHECK(line.find("\"eval_top1\":") != std::string::npos);
  }
  CHECK(lines == 12);
}

namespace {

// ImageSet that records the trainer's calls, to check the prefetch hint.
struct RecordingSet : ImageSet {
  using ImageSet::ImageSet;
  mutable std::vector<std::vector<Index>> loaded, prefetched;
  Batch load(const std::vector<Index>& indices) const {
    loaded.push_back(indices);
    return ImageSet::load(indices);
  }
  void prefetch(const std::vector<Index>& next) const { prefetched.push_back(next); }
};

}  // namespace

TEST_CASE("a dataset with prefetch() is told each next batch before the current step",
          "[trainer]") {
  const RecordingSet train(40, 3);
  auto pipeline = make_pipeline_for_test(5);
  ccl::optim::Sgd<float> sgd;
  add_groups(sgd, pipeline, 0.05);
  TrainerOptions options;
  options.epochs = 2;
  options.batch_size = 16;  // batches of 16, 16, 8
  options.progress = ProgressStyle::none;
  Trainer trainer(pipeline, sgd, options);
  trainer.fit(train);
  REQUIRE(train.loaded.size() == 6);
  // Within an epoch, prefetch k announces load k+1; the last batch of an epoch announces nothing
  // (the next epoch's order is drawn after it).
  REQUIRE(train.prefetched.size() == 4);
  CHECK(train.prefetched[0] == train.loaded[1]);
  CHECK(train.prefetched[1] == train.loaded[2]);
  CHECK(train.prefetched[2] == train.loaded[4]);
  CHECK(train.prefetched[3] == train.loaded[5]);
  CHECK(train.loaded[2].size() == 8);
}

TEST_CASE("epoch callbacks see every epoch's report after the schedule has stepped",
          "[trainer]") {
  const ImageSet train(48, 3), test(24, 4);
  auto pipeline = make_pipeline_for_test(5);
  ccl::optim::Sgd<float> sgd;
  ccl::optim::SgdOptions options_sgd = ccl::optim::SgdOptions::official();
  options_sgd.lr = 0.05;
  const auto groups = ccl::pipeline::add_optimizer_groups(sgd, pipeline, options_sgd, options_sgd);
  ccl::optim::Scheduler<ccl::optim::Cosine> schedule(sgd, groups.student,
                                                     ccl::optim::Cosine{3, 0.0});
  TrainerOptions options;
  options.epochs = 3;
  options.progress = ProgressStyle::none;
  Trainer trainer(pipeline, sgd, options);
  trainer.add_scheduler(schedule);
  std::vector<Index> epochs;
  std::vector<double> eval_top1, lr_seen;
  trainer.add_epoch_callback([&](const EpochReport& r) {
    epochs.push_back(r.epoch);
    eval_top1.push_back(r.eval.top(1));
    lr_seen.push_back(sgd.lr(groups.student));
  });
  trainer.add_epoch_callback([&](const EpochReport&) { CHECK(trainer.epoch() == epochs.back()); });
  const auto reports = trainer.fit(train, &test);
  CHECK(epochs == std::vector<Index>{1, 2, 3});
  for (std::size_t k = 0; k < reports.size(); ++k) CHECK(eval_top1[k] == reports[k].eval.top(1));
  CHECK(lr_seen[0] < 0.05);  // the callback runs after the schedule's step
  CHECK(lr_seen[2] == Approx(0.0).margin(1e-12));
  CHECK_THROWS_WITH(trainer.add_epoch_callback({}), Catch::Contains("the callback is empty"));
}

TEST_CASE("resuming from a checkpoint continues bit-identically", "[trainer][checkpoint]") {
  const ImageSet train(96, 3);
  auto run = [&](Index epochs, const std::string& checkpoint) {
    auto pipeline = make_pipeline_for_test(11);
    ccl::optim::Sgd<float> sgd;
    add_groups(sgd, pipeline, 0.05);
    ccl::optim::Scheduler<ccl::optim::MultiStep> schedule(sgd, 0, ccl::optim::MultiStep{{2, 4}, 0.1});
    TrainerOptions options;
    options.epochs = epochs;
    options.batch_size = 16;
    options.seed = 21;
    options.progress = ProgressStyle::none;
    options.checkpoint_path = checkpoint;
    Trainer trainer(pipeline, sgd, options);
    trainer.add_scheduler(schedule);
    trainer.fit(train);
    return std::make_pair(snapshot(pipeline), trainer.epoch());
  };
  const std::string straight = temp_path("straight.ckpt"), resumed = temp_path("resumed.ckpt");
  std::remove(straight.c_str());
  std::remove(resumed.c_str());
  const auto uninterrupted = run(5, straight);
  const auto first_half = run(2, resumed);
  CHECK(first_half.second == 2);
  const auto second_half = run(5, resumed);  // a fresh process would build the same objects
  CHECK(second_half.second == 5);
  CHECK(!bitwise_equal(first_half.first, uninterrupted.first));
  CHECK(bitwise_equal(second_half.first, uninterrupted.first));
}

TEST_CASE("a corrupt or foreign checkpoint is rejected and the model is left untouched",
          "[trainer][checkpoint][errors]") {
  const ImageSet train(32, 4);
  const std::string path = temp_path("corrupt.ckpt");
  {
    auto pipeline = make_pipeline_for_test(12);
    ccl::optim::Sgd<float> sgd;
    add_groups(sgd, pipeline, 0.05);
    TrainerOptions options;
    options.epochs = 1;
    options.progress = ProgressStyle::none;
    options.checkpoint_path = path;
    std::remove(path.c_str());
    Trainer(pipeline, sgd, options).fit(train);
  }
  // Truncate the file: the next run must refuse it rather than train from a half-loaded model.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  auto pipeline = make_pipeline_for_test(12);
  const auto before = snapshot(pipeline);
  ccl::optim::Sgd<float> sgd;
  add_groups(sgd, pipeline, 0.05);
  TrainerOptions options;
  options.epochs = 2;
  options.progress = ProgressStyle::none;
  options.checkpoint_path = path;
  Trainer trainer(pipeline, sgd, options);
  CHECK_THROWS_AS(trainer.fit(train), ccl::error);
  CHECK(bitwise_equal(snapshot(pipeline), before));

  TrainerOptions bad;
  bad.batch_size = 0;
  CHECK_THROWS_WITH(Trainer(pipeline, sgd, bad), Catch::Contains("batch_size must be >= 1"));
}
