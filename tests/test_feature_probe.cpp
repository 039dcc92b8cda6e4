// Training on precomputed features: the linear and MLP probes (pipeline/features.hpp,
// nn/mlp.hpp), FeatureSet's batches, and the Trainer's model selection (best epoch, early stop,
// restoring the best weights, resuming all of it from a checkpoint).

#include <ccl/core/rng.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/nn/mlp.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/features.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/trainer.hpp>
#include "support/finite_difference.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

using ccl::Index;
using namespace ccl::pipeline;

namespace {

template <class Scalar>
using Matrix = ccl::RowMatrix<Scalar>;

/// `classes` Gaussian clusters in `dim` dimensions: a linearly separable-ish feature set.
template <class Scalar>
struct Clusters {
  Matrix<Scalar> features;
  std::vector<std::int64_t> labels;
  Clusters(Index n, Index dim, Index classes, double noise, std::uint64_t seed)
      : features(n, dim), labels(std::size_t(n)) {
    ccl::Rng rng(seed), centres_rng(1234);
    Matrix<double> centres(classes, dim);
    centres_rng.fill_normal(centres);
    for (Index i = 0; i < n; ++i) {
      const Index y = i % classes;
      labels[std::size_t(i)] = y;
      for (Index k = 0; k < dim; ++k)
        features(i, k) = Scalar(centres(y, k) + rng.normal(0.0, noise));
    }
  }
  FeatureSet<Scalar> set() const { return FeatureSet<Scalar>(ccl::view(features), labels); }
};

TrainerOptions quiet_options(Index epochs, Index batch_size) {
  TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = batch_size;
  options.progress = ProgressStyle::none;
  options.top_k = {1};
  return options;
}

template <class Student>
std::vector<Matrix<double>> parameters_of(Student& student) {
  std::vector<Matrix<double>> out;
  student.for_each_parameter([&](auto& p) { out.push_back(p.value.template cast<double>()); });
  return out;
}

}  // namespace

TEST_CASE("FeatureSet views ascending runs in place and gathers shuffled batches",
          "[features][dataset]") {
  const Clusters<float> data(10, 3, 2, 0.1, 1);
  const auto set = data.set();
  REQUIRE(set.size() == 10);
  REQUIRE(set.dim() == 3);

  const auto run = set.load({4, 5, 6});
  CHECK(run.gathered == nullptr);
  CHECK(run.input.data() == data.features.data() + 4 * 3);  // the caller's own rows
  CHECK(run.input.rows() == 3);
  CHECK(run.labels[0] == data.labels[4]);
  CHECK(run.labels[2] == data.labels[6]);

  const auto shuffled = set.load({7, 2, 9});
  REQUIRE(shuffled.gathered != nullptr);
  for (Index k = 0; k < 3; ++k) {
    const Index i = std::vector<Index>{7, 2, 9}[std::size_t(k)];
    CHECK(shuffled.input.matrix().row(k) == data.features.row(i));
    CHECK(shuffled.labels[k] == data.labels[std::size_t(i)]);
  }
  // A copy of the batch shares the gathered rows: its view stays valid.
  const auto copy = shuffled;
  CHECK(copy.input.data() == shuffled.input.data());

  CHECK_THROWS_WITH(set.load({3, 10}), Catch::Contains("index 10 is outside [0, 10)"));
  CHECK_THROWS_WITH(set.load({}), Catch::Contains("no index"));
  const std::vector<std::int64_t> too_few(4, 0);
  CHECK_THROWS_WITH(FeatureSet<float>(ccl::view(data.features), too_few),
                    Catch::Contains("10 feature rows but 4 labels"));
}

TEST_CASE("nn::Mlp's gradients match finite differences in double", "[features][mlp][gradient]") {
  ccl::Rng rng(3);
  ccl::nn::Mlp<double> mlp(5, {7, 4}, rng);
  Matrix<double> x(6, 5), upstream(6, 4);
  rng.fill_normal(x);
  rng.fill_normal(upstream);
  // L = <upstream, mlp(x)>: dL/dh = upstream.
  auto loss = [&] { return (mlp.forward(ccl::view(x)).array() * upstream.array()).sum(); };
  loss();
  mlp.zero_grad();
  Matrix<double> grad_x = Matrix<double>::Zero(6, 5);
  mlp.backward(ccl::view(upstream), ccl::mutable_view(grad_x));
  CHECK(ccl::testing::relative_error(grad_x, ccl::testing::numeric_gradient(x, loss)) < 1e-8);
  std::vector<std::string> names;
  mlp.for_each_parameter([&](ccl::Parameter<double>& p) {
    INFO(p.name);
    names.push_back(p.name);
    const Matrix<double> analytic = p.grad;
    CHECK(ccl::testing::relative_error(analytic, ccl::testing::numeric_gradient(p.value, loss)) <
          1e-8);
  });
  CHECK(names ==
        std::vector<std::string>{"mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias"});
  CHECK_THROWS_WITH(mlp.forward(ccl::view(upstream)), Catch::Contains("4 features, expected 5"));
  CHECK_THROWS_WITH(ccl::nn::Mlp<float>(5, {}, rng), Catch::Contains("at least one hidden"));
}

TEST_CASE("A linear probe trained by the Trainer equals hand-written logistic regression",
          "[features][probe][trainer]") {
  // Full-batch, unshuffled gradient descent on softmax regression, written out with Eigen: the
  // probe's pipeline, SGD and Trainer must produce the same weights to rounding.
  const Clusters<double> data(40, 6, 3, 1.0, 5);
  ccl::Rng rng(11);
  auto pipeline = make_pipeline(make_linear_probe<double>(6, 3, rng));
  Matrix<double> w = pipeline.student().classifier().weight().value;
  Matrix<double> b = pipeline.student().classifier().bias().value;

  ccl::optim::Sgd<double> sgd;
  ccl::optim::SgdOptions plain;
  plain.lr = 0.5;
  sgd.add_group(plain).add("student", pipeline.student());
  TrainerOptions options = quiet_options(25, 40);
  options.shuffle = false;
  Trainer trainer(pipeline, sgd, options);
  const auto set = data.set();
  const auto reports = trainer.fit(set);

  const Matrix<double>& x = data.features;
  for (int epoch = 0; epoch < 25; ++epoch) {
    Matrix<double> logits = (x * w.transpose()).rowwise() + b.row(0);
    Matrix<double> p = (logits.colwise() - logits.rowwise().maxCoeff()).array().exp();
    p = p.array().colwise() / p.rowwise().sum().array();
    for (Index i = 0; i < 40; ++i) p(i, data.labels[std::size_t(i)]) -= 1.0;
    p /= 40.0;  // mean cross-entropy
    w -= plain.lr * (p.transpose() * x);
    b -= plain.lr * p.colwise().sum();
  }
  CHECK(ccl::testing::relative_error(pipeline.student().classifier().weight().value, w) < 1e-12);
  CHECK(ccl::testing::relative_error(pipeline.student().classifier().bias().value, b) < 1e-12);
  CHECK(reports.back().loss < reports.front().loss);
  CHECK(trainer.evaluate(set).top(1) > 0.8);  // chance: 1/3
}

TEST_CASE("An MLP probe learns through the Trainer and embeds with its last hidden layer",
          "[features][probe][trainer]") {
  const Clusters<float> train(120, 8, 4, 0.8, 6), test(60, 8, 4, 0.8, 7);
  ccl::Rng rng(12);
  auto pipeline = make_pipeline(make_mlp_probe<float>(8, {16, 12}, 4, rng));
  ccl::optim::Sgd<float> sgd;
  ccl::optim::SgdOptions options = ccl::optim::SgdOptions::official();
  options.lr = 0.05;
  sgd.add_group(options).add("student", pipeline.student());
  Trainer trainer(pipeline, sgd, quiet_options(15, 16));
  const auto test_set = test.set();
  const double before = trainer.evaluate(test_set).top(1);
  const auto reports = trainer.fit(train.set(), &test_set);
  INFO("top-1 before " << before << ", after " << reports.back().eval.top(1));
  CHECK(reports.back().eval.top(1) > 0.8);  // chance: 0.25
  CHECK(pipeline.embed(ccl::view(test.features)).cols() == 12);
}

TEST_CASE("EvalReport::top throws for an untracked k and for an empty report",
          "[trainer][selection][errors]") {
  EvalReport report;
  CHECK_THROWS_WITH(report.top(1), Catch::Contains("empty"));
  report.samples = 10;
  report.ks = {1, 5};
  report.accuracy = {0.5, 0.9};
  CHECK(report.top(5) == 0.9);
  CHECK_THROWS_WITH(report.top(3), Catch::Contains("k = 3 was not tracked"));
}

namespace {

/// Validation labels that disagree with training: the better the probe fits the training set, the
/// worse it does here, so the best validation epoch is an early one and patience runs out.
struct SelectionFixture {
  Clusters<double> train{60, 4, 3, 0.6, 21};
  Clusters<double> validation{30, 4, 3, 0.6, 22};
  SelectionFixture() {
    for (auto& y : validation.labels) y = (y + 1) % 3;
    // A few validation rows keep their true class, so accuracy is not identically zero.
    for (std::size_t i = 0; i < validation.labels.size(); i += 4)
      validation.labels[i] = (validation.labels[i] + 2) % 3;
  }
};

template <class P>
Trainer<P, ccl::optim::Sgd<double>> make_selecting_trainer(P& pipeline,
                                                           ccl::optim::Sgd<double>& sgd,
                                                           TrainerOptions options) {
  ccl::optim::SgdOptions sgd_options;
  sgd_options.lr = 0.3;
  sgd_options.momentum = 0.9;
  sgd.add_group(sgd_options).add("student", pipeline.student());
  return Trainer<P, ccl::optim::Sgd<double>>(pipeline, sgd, std::move(options));
}

}  // namespace

TEST_CASE("Model selection keeps the best epoch, stops early and restores its weights",
          "[trainer][selection]") {
  const SelectionFixture f;
  for (SelectBy metric : {SelectBy::accuracy, SelectBy::loss}) {
    INFO("metric " << (metric == SelectBy::accuracy ? "accuracy" : "loss"));
    ccl::Rng rng(31);
    auto pipeline = make_pipeline(make_linear_probe<double>(4, 3, rng));
    ccl::optim::Sgd<double> sgd;
    TrainerOptions options = quiet_options(30, 10);
    options.selection.metric = metric;
    options.selection.patience = 3;
    auto trainer = make_selecting_trainer(pipeline, sgd, options);
    std::vector<std::vector<Matrix<double>>> weights_after;
    trainer.add_epoch_callback(
        [&](const EpochReport&) { weights_after.push_back(parameters_of(pipeline.student())); });
    const auto validation_set = f.validation.set();
    const auto reports = trainer.fit(f.train.set(), &validation_set);

    // The expected choice, recomputed from the reports: the first epoch with the best score.
    Index best = 0;
    double best_score = -INFINITY;
    Index stale = 0;
    for (const auto& r : reports) {
      const double score = metric == SelectBy::accuracy ? r.eval.top(1) : -r.eval.loss;
      if (score > best_score) {
        best_score = score, best = r.epoch, stale = 0;
        CHECK(r.best);
      } else {
        ++stale;
        CHECK_FALSE(r.best);
      }
    }
    REQUIRE(best >= 1);
    CHECK(trainer.best_epoch() == best);
    CHECK(trainer.best_score() ==
          Approx(metric == SelectBy::accuracy ? best_score : -best_score).epsilon(0));
    CHECK(trainer.stopped_early());
    CHECK(stale == 3);
    CHECK(Index(reports.size()) < 30);
    CHECK(parameters_of(pipeline.student()) == weights_after[std::size_t(best - 1)]);
  }
}

TEST_CASE("Model selection options are checked", "[trainer][selection][errors]") {
  const SelectionFixture f;
  ccl::Rng rng(1);
  auto pipeline = make_pipeline(make_linear_probe<double>(4, 3, rng));
  ccl::optim::Sgd<double> sgd;
  TrainerOptions options = quiet_options(2, 10);
  options.selection.metric = SelectBy::accuracy;
  options.selection.k = 5;
  CHECK_THROWS_WITH(make_selecting_trainer(pipeline, sgd, options),
                    Catch::Contains("top-5 accuracy needs that k in TrainerOptions::top_k"));
  options.selection.k = 1;
  options.selection.min_improvement = -1;
  ccl::optim::Sgd<double> sgd2;
  CHECK_THROWS_WITH(make_selecting_trainer(pipeline, sgd2, options),
                    Catch::Contains("min_improvement"));
  options.selection.min_improvement = 0;
  ccl::optim::Sgd<double> sgd3;
  auto trainer = make_selecting_trainer(pipeline, sgd3, options);
  CHECK_THROWS_WITH(trainer.fit(f.train.set()), Catch::Contains("needs a validation set"));
}

TEST_CASE("A resumed run selects, stops and restores exactly as an uninterrupted one",
          "[trainer][selection][checkpoint]") {
  const SelectionFixture f;
  const auto train = f.train.set();
  const auto validation = f.validation.set();
  auto run = [&](const std::string& checkpoint, std::vector<Index> epoch_limits) {
    ccl::Rng rng(41);
    auto pipeline = make_pipeline(make_linear_probe<double>(4, 3, rng));
    Index best = 0;
    bool stopped = false;
    for (Index limit : epoch_limits) {  // one Trainer per "process", as after a restart
      ccl::optim::Sgd<double> sgd;
      TrainerOptions options = quiet_options(limit, 10);
      options.selection.metric = SelectBy::accuracy;
      options.selection.patience = 4;
      options.checkpoint_path = checkpoint;
      auto trainer = make_selecting_trainer(pipeline, sgd, options);
      trainer.fit(train, &validation);
      best = trainer.best_epoch();
      stopped = trainer.stopped_early();
    }
    return std::make_tuple(parameters_of(pipeline.student()), best, stopped);
  };
  const auto whole = run(ccl::test::temp_path("selection-whole.ckpt"), {40});
  const std::string path = ccl::test::temp_path("selection-resumed.ckpt");
  const auto resumed = run(path, {2, 5, 40});
  CHECK(std::get<2>(whole));
  CHECK(std::get<1>(resumed) == std::get<1>(whole));
  CHECK(std::get<2>(resumed) == std::get<2>(whole));
  CHECK(std::get<0>(resumed) == std::get<0>(whole));
  CHECK(std::filesystem::exists(path + ".best"));

  // The best weights' file is a checkpoint of the trainable modules.
  ccl::Rng rng(0);
  auto fresh = make_linear_probe<double>(4, 3, rng);
  ccl::io::Checkpoint best;
  best.add_module("student", fresh);
  best.load(path + ".best");
  CHECK(parameters_of(fresh) == std::get<0>(whole));

  // Without it, a resumed run cannot restore what it selected: a clear error, not the wrong model.
  std::filesystem::remove(path + ".best");
  CHECK_THROWS_WITH(run(path, {50}), Catch::Contains("weights file") && Catch::Contains("missing"));
}
