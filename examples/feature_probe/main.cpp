// feature_probe: a linear probe or an MLP on precomputed teacher features in the official CCL
// layout (ROOT/CLASS/v_CLASS_gXX_cYY.npy), the first thing a user does with the release's files:
// how much does a 512-d audio (or image) embedding say about the UCF51 class?
//
//   feature_probe --features features/audio                       linear probe, the default grid
//   feature_probe --features features/image --model mlp --hidden 512
//   feature_probe --synthetic DIR ...                              write a small layout, then run
//
// Procedure (docs/feature-probe.md): the training split (groups g08–g25 for UCF101 split 1) is
// divided by video group into fit and validation parts (data::split_by_group: no group on both
// sides); every (lr, weight decay) of the grid trains on the fit part with SGD, a cosine schedule
// and early stopping on validation top-1 (the Trainer's model selection); the best setting is then
// trained on the whole training split for its best epoch count and evaluated once on the test
// split: top-1/top-5 accuracy, and Recall@K of the probe's embedding (test clips as queries, the
// training clips as the gallery) beside Recall@K of the raw features.

#include <ccl/core/error.hpp>
#include <ccl/core/normalize_rows.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/data/group_split.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/teacher_features.hpp>
#include <ccl/metrics/retrieval.hpp>
#include <ccl/nn/mlp.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
#include <ccl/pipeline/features.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using ccl::Index;

namespace {

struct Settings {
  std::string features;
  std::string synthetic;
  Index dim = 512;
  int last_test_group = 7;
  std::string model = "linear";
  std::vector<Index> hidden{512};
  std::vector<double> lrs{0.3, 0.1, 0.03};
  std::vector<double> weight_decays{0.0, 1e-4, 1e-3};
  Index epochs = 60;
  Index batch = 64;
  Index patience = 10;
  double validation_fraction = 0.2;
  bool l2_normalize = false;
  bool drop_missing = false;
  std::vector<Index> ks{1, 5, 10, 20};
  std::uint64_t seed = 1;
  int threads = 0;
};

/// What one (lr, weight decay) reached on the validation groups.
struct Trial {
  double lr = 0, weight_decay = 0;
  double validation_top1 = 0;
  Index best_epoch = 0;
};

// ---- the synthetic layout of the smoke test ----------------------------------------------------

/// `classes` classes x `groups` groups x `clips` clips. A feature is its class's centre, plus a
/// per-(class, group) offset — clips of one group resemble each other, as in UCF101, which is why
/// validation must split by group — plus noise. Every 7th video has no audio (an all-zero vector),
/// every 5th is a (3, dim) matrix like the image teacher's per-frame features.
void write_synthetic_layout(const fs::path& root, Index dim, int classes, int groups, int clips,
                            std::uint64_t seed) {
  ccl::require(classes >= 2 && classes <= 26 && groups >= 2 && groups <= 99 && clips >= 1 &&
                   clips <= 99,
               "--synthetic: 2-26 classes, 2-99 groups, 1-99 clips");
  fs::remove_all(root);
  ccl::Rng rng(seed);
  ccl::RowMatrix<double> centres(classes, dim);
  rng.fill_normal(centres);
  int video = 0;
  for (int c = 0; c < classes; ++c) {
    const std::string name = std::string("Class") + char('A' + c);
    for (int g = 1; g <= groups; ++g) {
      ccl::RowMatrix<double> offset(1, dim);
      rng.fill_normal(offset);
      for (int k = 1; k <= clips; ++k, ++video) {
        const Index rows = video % 5 == 4 ? 3 : 1;
        std::vector<float> values(std::size_t(rows * dim), 0.0f);
        if (video % 7 != 6) {
          for (Index r = 0; r < rows; ++r)
            for (Index i = 0; i < dim; ++i)
              values[std::size_t(r * dim + i)] =
                  float(std::max(0.0, centres(c, i) + 0.8 * offset(0, i) + rng.normal(0.0, 1.0)));
        }
        char file[96];
        std::snprintf(file, sizeof file, "v_%s_g%02d_c%02d.npy", name.c_str(), g, k);
        fs::create_directories(root / name);
        if (rows == 1)
          ccl::data::write_npy(root / name / file, {dim}, values.data());
        else
          ccl::data::write_npy(root / name / file, {rows, dim}, values.data());
      }
    }
  }
}

// ---- training ---------------------------------------------------------------------------------

ccl::pipeline::TrainerOptions trainer_options(const Settings& s, Index epochs) {
  ccl::pipeline::TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = s.batch;
  options.seed = s.seed;
  options.top_k = {1, 5};
  options.progress = ccl::pipeline::ProgressStyle::none;
  return options;
}

/// Trains one probe with the given lr and weight decay (SGD, momentum 0.9, cosine schedule over
/// `epochs`; weight decay on weights only). With a validation set, the Trainer keeps the best
/// epoch by validation top-1 and stops after `patience` epochs without improvement.
template <class MakeProbe>
auto train_probe(const Settings& s, const MakeProbe& make_probe, double lr, double weight_decay,
                 Index epochs, const ccl::pipeline::FeatureSet<float>& train,
                 const ccl::pipeline::FeatureSet<float>* validation, Trial* trial) {
  ccl::Rng init(s.seed);
  auto pipeline = ccl::pipeline::make_pipeline(make_probe(init));
  ccl::optim::Sgd<float> sgd;
  ccl::optim::SgdOptions sgd_options{lr, 0.9, 0.0, weight_decay, false};
  const Index group = sgd.add_group(sgd_options, ccl::optim::WeightDecayOn::weights_only)
                          .add("probe", pipeline.student())
                          .index();
  ccl::optim::Scheduler<ccl::optim::Cosine> cosine(sgd, group, ccl::optim::Cosine(epochs));
  auto options = trainer_options(s, epochs);
  if (validation != nullptr) {
    options.selection.metric = ccl::pipeline::SelectBy::accuracy;
    options.selection.patience = s.patience;
  }
  ccl::pipeline::Trainer trainer(pipeline, sgd, options);
  trainer.add_scheduler(cosine);
  trainer.fit(train, validation);
  if (trial != nullptr) {
    trial->best_epoch = trainer.best_epoch();
    trial->validation_top1 = trainer.best_score();
  }
  return pipeline;
}

template <class MakeProbe>
int run(const Settings& s, const MakeProbe& make_probe, const ccl::data::FeatureBatch& train,
        const ccl::data::FeatureBatch& test, Index classes) {
  ccl::Rng split_rng(s.seed);
  const auto split = ccl::data::split_by_group(train.files, s.validation_fraction, split_rng);
  const auto fit = train.subset(split.train), validation = train.subset(split.validation);
  std::cout << "split by group: " << fit.rows() << " fit rows, " << validation.rows()
            << " validation rows (groups";
  for (int g : split.validation_groups) std::cout << ' ' << g;
  std::cout << " held out)\n\n";

  const ccl::pipeline::FeatureSet<float> fit_set(ccl::view(fit.features), fit.labels);
  const ccl::pipeline::FeatureSet<float> validation_set(ccl::view(validation.features),
                                                        validation.labels);
  std::vector<Trial> trials;
  std::cout << "| lr | weight decay | validation top-1 | best epoch |\n|---|---|---|---|\n";
  for (double lr : s.lrs) {
    for (double wd : s.weight_decays) {
      Trial trial{lr, wd};
      train_probe(s, make_probe, lr, wd, s.epochs, fit_set, &validation_set, &trial);
      std::printf("| %g | %g | %.4f | %lld |\n", lr, wd, trial.validation_top1,
                  static_cast<long long>(trial.best_epoch));
      trials.push_back(trial);
    }
  }
  // The best validation accuracy; among equals, the earlier grid entry (the larger lr first).
  Trial best = trials.front();
  for (const Trial& t : trials)
    if (t.validation_top1 > best.validation_top1) best = t;

  // Final model: the chosen setting on the whole training split, for the chosen epoch count.
  const ccl::pipeline::FeatureSet<float> train_set(ccl::view(train.features), train.labels);
  const ccl::pipeline::FeatureSet<float> test_set(ccl::view(test.features), test.labels);
  const Index final_epochs = std::max<Index>(1, best.best_epoch);
  auto pipeline =
      train_probe(s, make_probe, best.lr, best.weight_decay, final_epochs, train_set, nullptr, nullptr);
  ccl::optim::Sgd<float> unused;
  ccl::pipeline::Trainer evaluator(pipeline, unused, trainer_options(s, 1));
  const auto report = evaluator.evaluate(test_set);

  const ccl::RowMatrix<float> test_embedding = pipeline.embed(ccl::view(test.features)).matrix();
  const ccl::RowMatrix<float> train_embedding = pipeline.embed(ccl::view(train.features)).matrix();
  const auto probe_recall =
      ccl::metrics::recall_at_k(test_embedding, test.labels, train_embedding, train.labels, s.ks);
  const auto raw_recall =
      ccl::metrics::recall_at_k(test.features, test.labels, train.features, train.labels, s.ks);

  std::printf("\nchosen: lr %g, weight decay %g, %lld epochs on the whole training split\n",
              best.lr, best.weight_decay, static_cast<long long>(final_epochs));
  std::printf("test top-1 = %.4f, top-5 = %.4f (%lld clips, %lld classes, chance %.4f)\n",
              report.top(1), report.top(5), static_cast<long long>(test.rows()),
              static_cast<long long>(classes), 1.0 / double(classes));
  std::cout << "\n| Recall@K | probe embedding | raw features |\n|---|---|---|\n";
  for (Index k : s.ks)
    std::printf("| R@%lld | %.4f | %.4f |\n", static_cast<long long>(k), probe_recall.at(k),
                raw_recall.at(k));
  return 0;
}

ccl::data::FeatureBatch drop_missing_rows(const ccl::data::FeatureBatch& batch) {
  std::vector<Index> keep;
  for (Index i = 0; i < batch.rows(); ++i)
    if (!batch.missing[std::size_t(i)]) keep.push_back(i);
  return batch.subset(keep);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"feature_probe: a linear probe or MLP on teacher features in the official CCL layout"};
  auto* features = app.add_option("--features", s.features,
                                  "ROOT of ROOT/CLASS/v_CLASS_gXX_cYY.npy (e.g. features/audio)");
  auto* synthetic = app.add_option("--synthetic", s.synthetic,
                                   "write a small synthetic layout into this folder and use it");
  features->excludes(synthetic);
  app.add_option("--dim", s.dim, "feature width")->check(CLI::Range(1, 1 << 20));
  app.add_option("--last-test-group", s.last_test_group,
                 "groups 1..N are the test split (UCF101 split 1: 7)")
      ->check(CLI::Range(0, 98));
  app.add_option("--model", s.model, "linear or mlp")->check(CLI::IsMember({"linear", "mlp"}));
  app.add_option("--hidden", s.hidden, "hidden widths of the MLP")->delimiter(',');
  app.add_option("--lrs", s.lrs, "learning rates to try")->delimiter(',');
  app.add_option("--weight-decays", s.weight_decays, "weight decays to try")->delimiter(',');
  app.add_option("--epochs", s.epochs, "epochs per trial (the cosine period)")
      ->check(CLI::Range(Index(1), Index(100000)));
  app.add_option("--batch", s.batch, "batch size")->check(CLI::Range(Index(1), Index(1) << 20));
  app.add_option("--patience", s.patience, "early stop after this many epochs without gain (0: off)")
      ->check(CLI::Range(Index(0), Index(100000)));
  app.add_option("--validation-fraction", s.validation_fraction,
                 "share of the training groups held out for validation")
      ->check(CLI::Range(0.01, 0.99));
  app.add_flag("--l2-normalize", s.l2_normalize, "L2-normalise every feature row first");
  app.add_flag("--drop-missing", s.drop_missing,
               "leave out all-zero rows (videos without audio) from training and test");
  app.add_option("--ks", s.ks, "K of Recall@K")->delimiter(',');
  app.add_option("--seed", s.seed, "seed of the split, the initialisation and the shuffling");
  app.add_option("--threads", s.threads, "threads (0: all cores)")->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);

  try {
    ccl::require(!s.features.empty() || !s.synthetic.empty(),
                 "feature_probe: give --features ROOT (or --synthetic DIR for a smoke run)");
    for (double lr : s.lrs) ccl::require(lr > 0 && std::isfinite(lr), "--lrs: ", lr, " is not > 0");
    for (double wd : s.weight_decays)
      ccl::require(wd >= 0 && std::isfinite(wd), "--weight-decays: ", wd, " is not >= 0");
    if (s.threads > 0) ccl::set_num_threads(s.threads);
    if (!s.synthetic.empty()) {
      write_synthetic_layout(s.synthetic, s.dim, 6, 12, 3, s.seed);
      s.features = s.synthetic;
      std::cout << "wrote a synthetic layout (6 classes, groups 1-12, 3 clips each) to "
                << s.synthetic << "\n";
    }
    ccl::data::FeatureFolderOptions folder_options;
    folder_options.dim = s.dim;
    folder_options.last_test_group = s.last_test_group;
    const ccl::data::TeacherFeatureFolder folder(s.features, folder_options);
    auto train = folder.load_split(ccl::data::Split::train);
    auto test = folder.load_split(ccl::data::Split::test);
    ccl::require(train.rows() > 0 && test.rows() > 0, "feature_probe: '", s.features,
                 "' has ", train.rows(), " training and ", test.rows(),
                 " test files; both splits need files (see --last-test-group)");
    Index missing = 0;
    for (auto m : train.missing) missing += m;
    for (auto m : test.missing) missing += m;
    std::cout << folder.classes().size() << " classes, " << train.rows() << " training and "
              << test.rows() << " test files, " << missing << " all-zero (missing) vectors"
              << (s.drop_missing ? " left out" : " kept") << "\n";
    if (s.drop_missing) {
      train = drop_missing_rows(train);
      test = drop_missing_rows(test);
    }
    if (s.l2_normalize) {
      ccl::l2_normalize_rows_in_place(train.features);
      ccl::l2_normalize_rows_in_place(test.features);
    }
    const Index classes = Index(folder.classes().size());
    if (s.model == "linear")
      return run(s, [&](ccl::Rng& rng) { return ccl::pipeline::make_linear_probe<float>(s.dim, classes, rng); },
                 train, test, classes);
    return run(s,
               [&](ccl::Rng& rng) {
                 return ccl::pipeline::make_mlp_probe<float>(s.dim, s.hidden, classes, rng);
               },
               train, test, classes);
  } catch (const ccl::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
