// table1: the reproduction of the paper's Table 1 protocol on the tri-modal benchmark.
//
// Builds (or loads) the benchmark, trains and caches the audio and image teachers, then trains
// the video student once per method x teachers (A, I, AI) and seed, and prints Table 1 in the
// paper's layout beside the paper's UCF51 numbers, a retrieval table, and a JSON record.
//
//   table1                                   the default run (README's main job)
//   table1 --methods baseline,CRD,CCL --modes AI --seeds 3 --epochs 20
//   table1 --quick                           a seconds-long smoke run on a tiny benchmark
//   table1 --tune-beta --seeds 3             choose each baseline's β on a validation split of
//                                            the training clips first (validation.hpp)

#include "plots.hpp"
#include "report.hpp"
#include "run.hpp"
#include "teachers.hpp"
#include "validation.hpp"

#include <ccl/core/parallel.hpp>
#include <ccl/data/benchmark_builder.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace table1;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<Method> parse_methods(const std::string& text) {
  if (lower(text) == "all") return all_methods();
  std::vector<Method> out;
  for (const auto& name : split(text)) {
    bool found = false;
    for (Method m : all_methods()) {
      if (lower(name) == lower(to_string(m))) {
        out.push_back(m);
        found = true;
      }
    }
    if (!found) throw ccl::error("table1: unknown method '" + name +
                                 "' (baseline, FitNet, PKT, COR, RKD, CRD, IFD, CMC, CCL or all)");
  }
  return out;
}

std::vector<double> parse_numbers(const std::string& text, const char* option) {
  std::vector<double> out;
  for (const auto& item : split(text)) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(value > 0) || !std::isfinite(value))
      throw ccl::error(std::string("table1: ") + option + ": '" + item +
                       "' is not a positive number");
    out.push_back(value);
  }
  if (out.empty()) throw ccl::error(std::string("table1: ") + option + " needs at least one value");
  return out;
}

bool has_beta(Method m) { return m != Method::baseline && m != Method::ccl; }

// One line under the table saying which β each baseline ran with, and how it was chosen.
std::string beta_note(const std::vector<Method>& methods, const std::map<Method, double>& scale,
                      bool tuned) {
  std::ostringstream out;
  bool any = false;
  for (Method m : methods) {
    if (!has_beta(m)) continue;
    out << (any ? ", " : "") << to_string(m) << " × " << scale.at(m);
    any = true;
  }
  if (!any) return "";
  return "\nβ of each baseline relative to its default (method.md §8): " + out.str() +
         (tuned ? " — chosen by top-1 on a validation split of the training clips.\n"
                : ".\n");
}

std::vector<Mode> parse_modes(const std::string& text) {
  std::vector<Mode> out;
  for (const auto& name : split(text)) {
    const std::string n = lower(name);
    if (n == "a") out.push_back(Mode::audio);
    else if (n == "i") out.push_back(Mode::image);
    else if (n == "ai") out.push_back(Mode::both);
    else throw ccl::error("table1: unknown teacher setting '" + name + "' (A, I or AI)");
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reproduce the protocol of Table 1 of CCL (CVPR 2021) on the tri-modal benchmark"};
  std::string cache_dir = "table1-cache";
  std::string json_path = "table1.json";
  std::string markdown_path;
  std::string plots_dir = "table1-plots";
  std::string methods_text = "all";
  std::string modes_text = "A,I,AI";
  std::string progress_text = "auto";
  std::string fashion = ccl::data::default_fashion_mnist_dir().string();
  Index seeds = 1;
  int threads = 1;
  bool quick = false;
  bool tune_beta = false;
  std::string beta_candidates_text = "1,0.1,0.01";
  std::string tune_mode_text = "AI";
  double validation_fraction = 0.25;
  RunOptions run;
  TeacherOptions teacher;
  app.add_option("--cache-dir", cache_dir, "benchmark and teacher caches")->capture_default_str();
  app.add_option("--json", json_path, "write every run's results here")->capture_default_str();
  app.add_option("--markdown", markdown_path, "also write the tables here");
  app.add_option("--plots", plots_dir, "directory for the retrieval PNGs ('' = none)")->capture_default_str();
  app.add_option("--fashion-mnist", fashion, "directory of Fashion-MNIST's .gz files")->capture_default_str();
  app.add_option("--methods", methods_text, "comma-separated subset of baseline,FitNet,PKT,COR,RKD,CRD,IFD,CMC,CCL or all")
      ->capture_default_str();
  app.add_option("--modes", modes_text, "teacher settings: comma-separated A, I, AI")->capture_default_str();
  app.add_option("--seeds", seeds, "runs per cell (report mean ± std)")->capture_default_str();
  app.add_option("--epochs", run.epochs, "student epochs")->capture_default_str();
  app.add_option("--batch", run.batch_size, "student batch size")->capture_default_str();
  app.add_option("--lr", run.lr, "student learning rate (cosine-decayed)")->capture_default_str();
  app.add_option("--head-lr", run.head_lr, "composition-head / auxiliary-module learning rate")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (0 = the library default; 1 is what the documented timings used)")->capture_default_str();
  app.add_option("--progress", progress_text, "auto, bar, lines or none")->capture_default_str();
  app.add_flag("--quick", quick, "a tiny benchmark and one epoch: a smoke test, not a result");
  app.add_option("--beta-scale", run.beta_scale,
                 "baselines: multiply every method's default β by this")->capture_default_str();
  app.add_flag("--tune-beta", tune_beta,
               "baselines: first choose each method's β scale among --beta-candidates by top-1 "
               "on a validation split of the training clips (never the test clips)");
  app.add_option("--beta-candidates", beta_candidates_text,
                 "β scales tried by --tune-beta (the first wins ties)")->capture_default_str();
  app.add_option("--tune-mode", tune_mode_text, "teachers used while tuning β: A, I or AI")
      ->capture_default_str();
  app.add_option("--validation-fraction", validation_fraction,
                 "share of each class's training clips held out by --tune-beta")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const auto start = std::chrono::steady_clock::now();
    if (threads > 0) ccl::set_num_threads(threads);
    const auto methods = parse_methods(methods_text);
    const auto modes = parse_modes(modes_text);
    ccl::require(seeds >= 1, "table1: --seeds must be >= 1");
    const std::string p = lower(progress_text);
    run.progress = p == "bar" ? ccl::pipeline::ProgressStyle::bar
                   : p == "lines" ? ccl::pipeline::ProgressStyle::lines
                   : p == "none" ? ccl::pipeline::ProgressStyle::none
                                 : ccl::pipeline::ProgressStyle::automatic;
    teacher.progress = run.progress;

    ccl::data::BenchmarkConfig config;
    if (quick) {
      config.train_clips_per_class = 4;
      config.test_clips_per_class = 4;
      config.audio_train_per_class = 6;
      config.audio_test_per_class = 3;
      config.image_train_count = 600;
      config.image_test_per_class = 10;
      run.epochs = 1;
      teacher.image_epochs = 1;
      teacher.audio_epochs = 1;
    }
    const std::filesystem::path cache = cache_dir;
    std::filesystem::create_directories(cache);
    const auto bench = ccl::data::load_or_build_benchmark(
        config, cache / (quick ? "benchmark-quick.ccl" : "benchmark.ccl"), fashion,
        [&](const std::string& message) {
          std::fprintf(stderr, "[%6.1f s] %s\n", seconds_since(start), message.c_str());
        });
    std::fprintf(stderr, "[%6.1f s] benchmark: %lld classes, %lld training clips, %lld test clips\n",
                 seconds_since(start), static_cast<long long>(bench.class_names.size()),
                 static_cast<long long>(bench.clips_train.count),
                 static_cast<long long>(bench.clips_test.count));

    teacher.dim = run.dim;
    const Teachers teachers = prepare_teachers(bench, cache / (quick ? "quick" : "full"), teacher);
    std::fprintf(stderr,
                 "[%6.1f s] teachers: image top-1 %.1f%% (Fashion-MNIST test), audio top-1 %.1f%% "
                 "(held-out voices); the audio of test clips names the clip's class in %.1f%% of "
                 "clips that have audio\n",
                 seconds_since(start), 100 * teachers.image_top1, 100 * teachers.audio_top1,
                 100 * teachers.audio_agreement);

    // β per baseline: --beta-scale for all, or chosen on a validation split (--tune-beta).
    std::map<Method, double> beta_scale;
    for (Method m : methods) beta_scale[m] = run.beta_scale;
    nlohmann::json tuning = nlohmann::json::array();
    if (tune_beta) {
      const std::vector<double> candidates = parse_numbers(beta_candidates_text, "--beta-candidates");
      const std::vector<Mode> tune_modes = parse_modes(tune_mode_text);
      ccl::require(tune_modes.size() == 1, "table1: --tune-mode takes one of A, I, AI");
      const ValidationSplit split = make_validation_split(bench, teachers, validation_fraction);
      std::fprintf(stderr, "[%6.1f s] tuning β on a validation split: %lld clips fit, %lld held out\n",
                   seconds_since(start), static_cast<long long>(split.bench.clips_train.count),
                   static_cast<long long>(split.bench.clips_test.count));
      for (Method m : methods) {
        if (!has_beta(m)) continue;
        double best = -1;
        for (double candidate : candidates) {
          Context ctx{split.bench, split.teachers, run};
          ctx.options.beta_scale = candidate;
          const CellResult r = run_cell(m, tune_modes.front(), ctx);
          std::fprintf(stderr, "[%6.1f s] tune %-6s %-2s β × %g: validation top-1 %.1f%%\n",
                       seconds_since(start), to_string(m), to_string(tune_modes.front()),
                       candidate, 100 * r.top1);
          tuning.push_back({{"method", to_string(m)}, {"mode", to_string(tune_modes.front())},
                            {"beta_scale", candidate}, {"validation_top1", r.top1}});
          if (r.top1 > best) {
            best = r.top1;
            beta_scale[m] = candidate;
          }
        }
        std::fprintf(stderr, "[%6.1f s] tune %-6s chose β × %g\n", seconds_since(start),
                     to_string(m), beta_scale[m]);
      }
    }

    Results results;
    for (Index s = 0; s < seeds; ++s) {
      for (Method m : methods) {
        const std::vector<Mode> cell_modes = m == Method::baseline ? std::vector<Mode>{Mode::none} : modes;
        for (Mode mode : cell_modes) {
          Context ctx{bench, teachers, run};
          ctx.options.seed = run.seed + std::uint64_t(s);
          ctx.options.beta_scale = beta_scale[m];
          const CellResult r = run_cell(m, mode, ctx);
          std::fprintf(stderr, "[%6.1f s] %-8s %-2s seed %llu: top-1 %.1f%%, R@1 %.1f%% (%.0f s)\n",
                       seconds_since(start), to_string(m), to_string(mode),
                       static_cast<unsigned long long>(r.seed), 100 * r.top1,
                       100 * r.recall.at(1), r.seconds);
          results.add(r);
        }
      }
    }

    std::ostringstream tables;
    tables << "## Table 1 — video recognition, top-1 accuracy (%)\n\n"
           << "Ours: the tri-modal benchmark (" << bench.class_names.size() << " classes, "
           << bench.clips_train.count << " training / " << bench.clips_test.count
           << " test clips), " << seeds << (seeds == 1 ? " seed" : " seeds, mean ± std") << ", "
           << run.epochs << " epochs. Paper: UCF51 (method.md §7.1).\n\n"
           << results.markdown(methods, seeds) << beta_note(methods, beta_scale, tune_beta)
           << "\n## Retrieval, Recall@K (%)\n\n"
           << results.retrieval_markdown(methods, modes.empty() ? Mode::both : modes.back(), seeds);
    std::printf("%s", tables.str().c_str());
    if (!markdown_path.empty()) std::ofstream(markdown_path) << tables.str();

    nlohmann::json record;
    record["benchmark"] = {{"classes", bench.class_names.size()},
                           {"train_clips", bench.clips_train.count},
                           {"test_clips", bench.clips_test.count},
                           {"quick", quick}};
    record["teachers"] = {{"image_top1", teachers.image_top1},
                          {"audio_top1", teachers.audio_top1},
                          {"audio_agreement", teachers.audio_agreement}};
    record["options"] = {{"epochs", run.epochs}, {"batch", run.batch_size}, {"lr", run.lr},
                         {"head_lr", run.head_lr}, {"seeds", seeds}, {"tune_beta", tune_beta}};
    nlohmann::json scales = nlohmann::json::object();
    for (const auto& entry : beta_scale)
      if (has_beta(entry.first)) scales[to_string(entry.first)] = entry.second;
    record["beta_scale"] = scales;
    record["tuning"] = tuning;
    record["runs"] = results.json();
    record["seconds"] = seconds_since(start);
    std::ofstream(json_path) << record.dump(2) << '\n';

    if (!plots_dir.empty()) {
      write_plots(plots_dir, results, bench, methods, modes.empty() ? Mode::both : modes.back());
    }
    std::fprintf(stderr, "[%6.1f s] done: %s%s\n", seconds_since(start), json_path.c_str(),
                 plots_dir.empty() ? "" : (", " + plots_dir + "/").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "table1: %s\n", e.what());
    return 1;
  }
}
