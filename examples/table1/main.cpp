// table1: the reproduction of the paper's Table 1 protocol on the tri-modal benchmark.
//
// Builds (or loads) the benchmark, trains and caches the audio and image teachers, measures the
// teachers' headroom (linear probes, headroom.hpp), optionally tunes every method on a validation
// split of the training clips (the same grid size for each, cells.hpp), then trains the video
// student once per method x teachers (A, I, AI) x seed on the fit clips, validating after every
// epoch, and prints the headroom table, Table 1 (mean ± 95 % CI) beside the paper's UCF51
// numbers, the paired differences to the baseline and to CCL, the retrieval tables, and a JSON
// record with every cell's per-epoch curve. Cells run concurrently (--workers) and are cached on
// disk as they finish: a killed run continues where it stopped.
//
//   table1                                   the default run (README's main job)
//   table1 --full                            the documented full run: --tune --seeds 5
//   table1 --methods baseline,CRD,CCL --modes AI --seeds 3
//   table1 --quick                           a seconds-long smoke run on a tiny benchmark
//   mpirun -np 4 table1 --methods CCL         each cell data-parallel over 4 ranks (parallel.hpp)
//
// Under an MPI launcher (R ranks; a build with MPI, parallel.hpp) rank 0 builds or loads the
// benchmark and trains or loads the teachers and hands both to the other ranks, which read and
// write no file: rank 0 alone prints, keeps the caches and writes the reports. The cells then
// run one after another, each trained by all ranks together with the global batch --batch.

#include "cells.hpp"
#include "headroom.hpp"
#include "parallel.hpp"
#include "plots.hpp"
#include "report.hpp"
#include "run.hpp"
#include "teachers.hpp"
#include "validation.hpp"

#include <ccl/core/parallel.hpp>
#include <ccl/data/benchmark_builder.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
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


Selection parse_selection(const std::string& text) {
  const std::string s = lower(text);
  if (s == "last") return Selection::last;
  if (s == "best-validation") return Selection::best_validation;
  if (s == "best-on-test") return Selection::best_on_test;
  throw ccl::error("table1: --select takes last, best-validation or best-on-test, got '" + text + "'");
}

/// The settings the documented full run (`table1 --full`, docs/reproducing-table1.md) chose by
/// validation top-1 (AI teachers, 2 seeds), used when this run does not tune (--tune). They belong
/// to the default protocol (20 epochs, lr 0.05, ...): a run with other options should --tune.
GridPoint documented_choice(Method m) {
  GridPoint p;
  switch (m) {
    case Method::baseline: break;
    case Method::fitnet: p.beta_scale = 0.01; break;
    case Method::pkt: p.beta_scale = 0.01; break;
    case Method::cor: p.beta_scale = 0.03; break;
    case Method::rkd: p.beta_scale = 0.3; break;
    case Method::crd: p.beta_scale = 0.01; break;
    case Method::ifd: p.beta_scale = 0.01; break;
    case Method::cmc: p.beta_scale = 0.3; break;
    case Method::ccl: p.paper_routing = true; p.lambda = 0.5; break;
  }
  // A documented choice is always a point of the grid (so its cells are shared with --tune runs).
  bool on_grid = false;
  for (const GridPoint& q : tuning_grid(m)) on_grid = on_grid || q.label(m) == p.label(m);
  ccl::require(on_grid, "table1: the documented setting of ", to_string(m), " is not on its grid");
  return p;
}

/// Seconds of CPU this process has used (user + system, all threads).
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

/// Everything a cell's result depends on besides its own specification: the cache key. A run on
/// R > 1 ranks (or with --drop-last) has a key of its own: its float rounding differs from one
/// process's, and a cell read back must be the very result the run would compute.
std::string protocol_description(const ccl::data::BenchmarkConfig& b, const TeacherOptions& t,
                                 const RunOptions& r, double validation_fraction, bool quick,
                                 int ranks) {
  std::ostringstream out;
  out << "table1 protocol 2\n"
      << "benchmark seed " << b.seed << ", " << b.frames << "x" << b.height << "x" << b.width
      << ", clips/class " << b.train_clips_per_class << " train " << b.test_clips_per_class
      << " test, audio/class " << b.audio_train_per_class << "/" << b.audio_test_per_class
      << ", images " << b.image_train_count << "/" << b.image_test_per_class << " per class"
      << ", unrelated " << b.unrelated_fraction << ", missing " << b.missing_fraction
      << ", occlusion " << b.occlusion_probability << ", quick " << quick << "\n"
      << "teachers dim " << t.dim << ", image epochs " << t.image_epochs << " on "
      << t.image_train_limit << (t.image_augment ? " rendered" : " plain") << ", audio epochs "
      << t.audio_epochs << ", seed " << t.seed << "\n"
      << "student epochs " << r.epochs << ", batch " << r.batch_size << ", lr " << r.lr
      << " cosine, head lr " << r.head_lr << ", dim " << r.dim << ", select "
      << to_string(r.select) << "\n"
      << "validation fraction " << validation_fraction << "\n";
  if (ranks > 1 || r.drop_last)
    out << "whole global batches only (drop_last), data-parallel over " << ranks << " rank(s)\n";
  return out.str();
}

/// Rank 0's benchmark on every rank (rank 0 builds or loads it; the others read no file).
void share_benchmark(Communicator& comm, ccl::data::TriModalBenchmark& bench) {
  if (comm.size() == 1) return;
  ccl::data::Bytes bytes;
  if (comm.lead()) bytes = ccl::data::encode_benchmark(bench);
  broadcast_bytes(comm, bytes);
  if (!comm.lead()) bench = ccl::data::decode_benchmark(bytes, "rank 0's benchmark");
}

/// Rank 0's teacher embeddings and accuracies on every rank.
void share_teachers(Communicator& comm, Teachers& teachers) {
  if (comm.size() == 1) return;
  for (ClipTeachers* t : {&teachers.train, &teachers.test}) {
    broadcast_matrix(comm, t->audio);
    broadcast_matrix(comm, t->image_frames);
  }
  double figures[3] = {teachers.image_top1, teachers.audio_top1, teachers.audio_agreement};
  comm.broadcast(figures, 3, 0);
  teachers.image_top1 = figures[0];
  teachers.audio_top1 = figures[1];
  teachers.audio_agreement = figures[2];
}

/// Rank 0's result of a cell on every rank, through the cache's JSON form (lossless for doubles):
/// the ranks then take every later decision (tuning's choice) on the same figures, whatever the
/// last bits of their own copies.
void share_cell(Communicator& comm, CellResult& result, const CellSpec& spec, Index epochs,
                Index test_count, Index gallery_count) {
  if (comm.size() == 1) return;
  ccl::data::Bytes bytes;
  if (comm.lead()) {
    const std::string text = detail::cell_json(result).dump();
    bytes.assign(text.begin(), text.end());
  }
  broadcast_bytes(comm, bytes);
  if (!comm.lead())
    result = detail::cell_from_json(nlohmann::json::parse(bytes.begin(), bytes.end()), spec, epochs,
                                    test_count, gallery_count);
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
  std::string select_text = "last";
  std::string fashion = ccl::data::default_fashion_mnist_dir().string();
  Index seeds = 1;
  Index tune_seeds = 2;
  int workers = 0;
  bool quick = false;
  bool tune = false;
  bool full = false;
  std::string tune_mode_text = "AI";
  double validation_fraction = 0.25;
  RunOptions run;
  TeacherOptions teacher;
  ccl::data::BenchmarkConfig config;
  config.test_clips_per_class = 300;
  app.add_option("--cache-dir", cache_dir, "benchmark, teacher and finished-cell caches")->capture_default_str();
  app.add_option("--json", json_path, "write every cell's results and curves here")->capture_default_str();
  app.add_option("--markdown", markdown_path, "also write the tables here");
  app.add_option("--plots", plots_dir, "directory for the retrieval PNGs ('' = none)")->capture_default_str();
  app.add_option("--fashion-mnist", fashion, "directory of Fashion-MNIST's .gz files")->capture_default_str();
  app.add_option("--methods", methods_text, "comma-separated subset of baseline,FitNet,PKT,COR,RKD,CRD,IFD,CMC,CCL or all")
      ->capture_default_str();
  app.add_option("--modes", modes_text, "teacher settings: comma-separated A, I, AI")->capture_default_str();
  app.add_option("--seeds", seeds, "seeds per cell, shared by every method (mean ± 95 % CI, paired differences)")
      ->capture_default_str();
  app.add_option("--workers", workers, "cells trained at once, each on one thread (0 = one per core)")
      ->capture_default_str();
  app.add_option("--epochs", run.epochs, "student epochs")->capture_default_str();
  app.add_option("--batch", run.batch_size, "student batch size")->capture_default_str();
  app.add_option("--lr", run.lr, "student learning rate (cosine-decayed)")->capture_default_str();
  app.add_option("--head-lr", run.head_lr, "composition-head / auxiliary-module learning rate")->capture_default_str();
  app.add_option("--select", select_text,
                 "the epoch reported: last, best-validation, or best-on-test (the official "
                 "code's choice of the best test epoch: optimistic, labelled as such)")
      ->capture_default_str();
  app.add_option("--test-clips-per-class", config.test_clips_per_class,
                 "test clips per class (sampling error of top-1 ~ 0.5/sqrt(10 x this))")
      ->capture_default_str();
  app.add_option("--image-teacher-epochs", teacher.image_epochs,
                 "epochs of the image teacher over the 60,000 rendered Fashion-MNIST frames")
      ->capture_default_str();
  app.add_option("--progress", progress_text, "teacher training: auto, bar, lines or none")->capture_default_str();
  app.add_flag("--quick", quick, "a tiny benchmark and one epoch: a smoke test, not a result");
  app.add_flag("--tune", tune,
               "choose each method's setting on its grid (β for the baselines; loss weight, "
               "temperatures, routing/λ for CCL) by validation top-1, never the test clips");
  app.add_option("--tune-seeds", tune_seeds, "seeds per grid point when tuning (mean validation top-1)")
      ->capture_default_str();
  app.add_option("--tune-mode", tune_mode_text, "teachers used while tuning: A, I or AI")->capture_default_str();
  app.add_option("--validation-fraction", validation_fraction,
                 "share of each class's training clips held out for validation")->capture_default_str();
  app.add_flag("--full", full, "the documented full run: --tune and --seeds 5 (unless given)");
  app.add_flag("--drop-last", run.drop_last,
               "train on whole batches only (what a run on several ranks does): one process then "
               "reproduces `mpirun -np R table1` up to rounding");
  CLI11_PARSE(app, argc, argv);

  return run_on_ranks(argc, argv, "table1", [&](Communicator& comm) {
    const int ranks = comm.size();
    const bool lead = comm.lead();  // rank 0: prints, and reads and writes every file
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    // Cells run on their own threads, each single-threaded (cells.hpp).
    Eigen::initParallel();
    ccl::set_num_threads(1);
    if (ranks > 1) {
      // Each cell's collectives run on the one communicator in the same order on every rank:
      // cells run one after another, every rank training each of them.
      ccl::require(workers <= 1, "table1: --workers ", workers, " with ", ranks, " ranks: over "
                   "several ranks the cells run one at a time, each data-parallel over all ranks "
                   "(start more ranks instead)");
      workers = 1;
    }
    if (workers <= 0) workers = int(std::max(1u, std::thread::hardware_concurrency()));
    if (full) {
      tune = true;
      if (app.count("--seeds") == 0) seeds = 5;
    }
    const auto methods = parse_methods(methods_text);
    const auto modes = parse_modes(modes_text);
    ccl::require(seeds >= 1, "table1: --seeds must be >= 1");
    ccl::require(tune_seeds >= 1, "table1: --tune-seeds must be >= 1");
    run.select = parse_selection(select_text);
    const std::string p = lower(progress_text);
    teacher.progress = p == "bar" ? ccl::pipeline::ProgressStyle::bar
                       : p == "lines" ? ccl::pipeline::ProgressStyle::lines
                       : p == "none" ? ccl::pipeline::ProgressStyle::none
                                     : ccl::pipeline::ProgressStyle::automatic;
    const std::vector<Mode> tune_modes = parse_modes(tune_mode_text);
    ccl::require(tune_modes.size() == 1, "table1: --tune-mode takes one of A, I, AI");
    const Mode tune_mode = tune_modes.front();

    if (quick) {
      config.train_clips_per_class = 4;
      config.test_clips_per_class = 4;
      config.audio_train_per_class = 6;
      config.audio_test_per_class = 3;
      config.image_train_count = 600;
      config.image_test_per_class = 10;
      if (app.count("--epochs") == 0) run.epochs = 1;
      teacher.image_epochs = 1;
      teacher.image_train_limit = 600;
      teacher.audio_epochs = 1;
    }
    ccl::require(run.batch_size >= 1 && run.batch_size % ranks == 0, "table1: --batch ",
                 run.batch_size, " is not a positive multiple of the ", ranks,
                 " ranks (it is the global batch: each rank trains on its 1/R of it)");
    const std::filesystem::path cache = cache_dir;
    if (lead) std::filesystem::create_directories(cache);
    const auto stamp = [&] { return seconds_since(start); };
    const auto bench = [&] {
      ccl::data::TriModalBenchmark b;
      if (lead)
        b = ccl::data::load_or_build_benchmark(
            config, cache / (quick ? "benchmark-quick.ccl" : "benchmark.ccl"), fashion,
            [&](const std::string& message) { std::fprintf(stderr, "[%6.1f s] %s\n", stamp(), message.c_str()); });
      share_benchmark(comm, b);
      return b;
    }();
    if (lead)
      std::fprintf(stderr, "[%6.1f s] benchmark: %lld classes, %lld training clips, %lld test clips\n",
                   stamp(), static_cast<long long>(bench.class_names.size()),
                   static_cast<long long>(bench.clips_train.count),
                   static_cast<long long>(bench.clips_test.count));

    teacher.dim = run.dim;
    // The teachers train in rank 0 alone (their training is not data-parallel), which caches them.
    const Teachers teachers = [&] {
      Teachers t;
      if (lead) t = prepare_teachers(bench, cache / (quick ? "quick" : "full"), teacher);
      share_teachers(comm, t);
      return t;
    }();
    if (lead)
      std::fprintf(stderr,
                 "[%6.1f s] teachers: image top-1 %.1f%% (held-out Fashion-MNIST%s), audio top-1 "
                 "%.1f%% (held-out voices); the audio of test clips names the clip's class in "
                 "%.1f%% of clips that have audio\n",
                 stamp(), 100 * teachers.image_top1, teacher.image_augment ? ", rendered as clip frames" : "",
                 100 * teachers.audio_top1, 100 * teachers.audio_agreement);

    // The student fits part of the training clips and is validated on the rest (validation.hpp).
    const ValidationSplit split = make_validation_split(bench, teachers, validation_fraction);
    const Index classes = Index(bench.class_names.size());
    // The probes only inform rank 0's report.
    const auto probes = lead ? headroom_probes(split.bench.clips_train, split.teachers.train,
                                               split.bench.clips_test, split.teachers.test,
                                               bench.clips_test, teachers.test, classes)
                             : std::vector<ProbeResult>{};
    for (const auto& probe : probes)
      std::fprintf(stderr, "[%6.1f s] headroom: probe %-15s validation %.1f%%, test %.1f%%\n",
                   stamp(), probe.name.c_str(), 100 * probe.validation_top1, 100 * probe.test_top1);

    std::optional<CellCache> cells;  // rank 0's
    if (lead)
      cells.emplace(cache, protocol_description(config, teacher, run, validation_fraction, quick, ranks),
                    run.epochs, bench.clips_test.count, split.bench.clips_train.count);
    if (lead && ranks > 1)
      std::fprintf(stderr, "[%6.1f s] %d ranks: one cell at a time, data-parallel (global batch %lld, "
                   "%lld per rank)\n", stamp(), ranks, static_cast<long long>(run.batch_size),
                   static_cast<long long>(run.batch_size / ranks));
    if (lead)
      std::fprintf(stderr, "[%6.1f s] %d workers; fit %lld clips, validate on %lld, test on %lld; "
                   "finished cells are kept in %s\n", stamp(), workers,
                   static_cast<long long>(split.bench.clips_train.count),
                   static_cast<long long>(split.bench.clips_test.count),
                   static_cast<long long>(bench.clips_test.count), cells->directory().string().c_str());
    std::mutex log_mutex;
    std::size_t done = 0, total = 0, reused = 0;
    // Over several ranks run_one runs on one thread (workers == 1), in the same order everywhere.
    const auto run_one = [&](const CellSpec& spec) -> CellResult {
      std::optional<CellResult> cached;
      if (lead) cached = cells->find(spec);
      if (rank_zero_value(comm, cached.has_value())) {  // every rank skips it, or every rank trains
        CellResult r = lead ? *cached : CellResult{};
        share_cell(comm, r, spec, run.epochs, bench.clips_test.count, split.bench.clips_train.count);
        std::lock_guard<std::mutex> lock(log_mutex);
        ++done;
        ++reused;
        return r;
      }
      Context ctx{split.bench, split.teachers, bench.clips_test, teachers.test, run, comm};
      ctx.options.seed = spec.seed;
      spec.point.apply(ctx.options);
      CellResult r = run_cell(spec.method, spec.mode, ctx);
      r.config = spec.point.label(spec.method);
      if (lead) cells->store(spec, r);
      share_cell(comm, r, spec, run.epochs, bench.clips_test.count, split.bench.clips_train.count);
      std::lock_guard<std::mutex> lock(log_mutex);
      ++done;
      if (lead)
        std::fprintf(stderr,
                   "[%6.1f s] %3zu/%zu %-8s %-2s %-16s seed %llu: validation %.1f%%, test %.1f%% "
                   "(epoch %lld), R@1 %.1f%% (%.0f s)\n",
                   stamp(), done, total, to_string(spec.method), to_string(spec.mode),
                   r.config.c_str(), static_cast<unsigned long long>(spec.seed),
                   100 * r.validation_top1, 100 * r.top1, static_cast<long long>(r.selected_epoch),
                   100 * r.recall.at(1), r.seconds);
      return r;
    };

    // Settings: tuned on the validation split (every method the same grid size), or documented.
    std::map<Method, GridPoint> chosen;
    for (Method m : methods) chosen[m] = documented_choice(m);
    nlohmann::json tuning = nlohmann::json::array();
    if (tune) {
      std::vector<CellSpec> specs;
      for (Index s = 0; s < tune_seeds; ++s)
        for (Method m : methods)
          if (m != Method::baseline)
            for (const GridPoint& point : tuning_grid(m))
              specs.push_back({m, tune_mode, point, run.seed + std::uint64_t(s)});
      done = reused = 0;
      total = specs.size();
      if (lead)
        std::fprintf(stderr, "[%6.1f s] tuning: %zu cells (%s teachers, %lld seed(s) per setting)\n",
                     stamp(), total, to_string(tune_mode), static_cast<long long>(tune_seeds));
      const auto results = run_cells(specs, workers, run_one);
      if (lead)
        std::fprintf(stderr, "[%6.1f s] tuning: %zu of %zu cells read back from the cache\n", stamp(),
                     reused, total);
      for (Method m : methods) {
        if (m == Method::baseline) continue;
        double best = -1;
        for (const GridPoint& point : tuning_grid(m)) {
          std::vector<double> values;
          for (std::size_t i = 0; i < specs.size(); ++i)
            if (specs[i].method == m && specs[i].point.label(m) == point.label(m))
              values.push_back(results[i].validation_top1);
          const double mean = summarise(values).mean;
          tuning.push_back({{"method", to_string(m)}, {"teachers", to_string(tune_mode)},
                            {"setting", point.label(m)}, {"describe", point.describe(m)},
                            {"validation_top1", values}, {"mean_validation_top1", mean}});
          if (mean > best) {  // the first point (the published default) wins ties
            best = mean;
            chosen[m] = point;
          }
        }
        if (lead)
          std::fprintf(stderr, "[%6.1f s] tune %-6s chose %s (validation top-1 %.1f%%)\n", stamp(),
                       to_string(m), chosen[m].describe(m).c_str(), 100 * best);
      }
    }

    std::vector<CellSpec> specs;
    for (Index s = 0; s < seeds; ++s)
      for (Method m : methods)
        for (Mode mode : m == Method::baseline ? std::vector<Mode>{Mode::none} : modes)
          specs.push_back({m, mode, chosen[m], run.seed + std::uint64_t(s)});
    done = reused = 0;
    total = specs.size();
    if (lead) std::fprintf(stderr, "[%6.1f s] Table 1: %zu cells\n", stamp(), total);
    Results results;
    for (const auto& r : run_cells(specs, workers, run_one)) results.add(r);
    // The reports are rank 0's: the other ranks' part ends with the last cell.
    if (!lead) return;
    std::fprintf(stderr, "[%6.1f s] Table 1: %zu of %zu cells read back from the cache\n", stamp(),
                 reused, total);

    const Summary baseline_student =
        Results::summary(results.top1(Method::baseline, Mode::none));
    const Mode retrieval_mode = modes.empty() ? Mode::both : modes.back();
    const std::string seeds_text = std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds");
    std::ostringstream tables;
    tables << "## Headroom: what the teachers know about the clips\n\n"
           << "Linear probes (ccl's Linear + cross-entropy; weight decay chosen on the "
           << split.bench.clips_test.count << " validation clips) trained on the teachers' "
           << "embeddings of the " << split.bench.clips_train.count
           << " clips the student fits, tested on the " << bench.clips_test.count
           << " test clips. Baseline student: " << seeds_text << ".\n\n"
           << headroom_markdown(probes, baseline_student)
           << "\n## Table 1 — video recognition, top-1 accuracy (%)\n\n"
           << "Ours: the tri-modal benchmark (" << classes << " classes; the student fits "
           << split.bench.clips_train.count << " clips, " << run.epochs << " epochs, epoch reported: "
           << to_string(run.select)
           << (run.select == Selection::best_on_test ? " — the official code's choice, optimistic" : "")
           << "; " << bench.clips_test.count << " test clips), mean ± 95 % CI over " << seeds_text
           << ". Paper: UCF51 (method.md §7.1).\n\n"
           << results.markdown(methods)
           << "\nSettings (" << (tune ? "chosen by validation top-1" : "documented choice, not tuned in this run")
           << "): ";
    bool first = true;
    for (Method m : methods) {
      if (m == Method::baseline) continue;
      tables << (first ? "" : "; ") << to_string(m) << " " << chosen[m].describe(m);
      first = false;
    }
    tables << ".\n\n## Paired differences (top-1 points; per seed, mean ± 95 % CI; ✓: the interval excludes 0)\n\n"
           << results.paired_markdown(methods, Method::baseline) << "\n"
           << results.paired_markdown(methods, Method::ccl)
           << "\n## Retrieval, Recall@K (%) — test clips as queries, the fit clips as gallery\n\n"
           << results.retrieval_markdown(methods, retrieval_mode) << "\n"
           << results.retrieval_paired_markdown(methods, retrieval_mode, Method::baseline);
    std::printf("%s", tables.str().c_str());
    if (!markdown_path.empty()) std::ofstream(markdown_path) << tables.str();

    const double wall = seconds_since(start);
    const double utilisation = (cpu_seconds() - cpu_start) /
                               (wall * std::max(1u, std::thread::hardware_concurrency()));
    nlohmann::json record;
    record["benchmark"] = {{"classes", classes},
                           {"train_clips", bench.clips_train.count},
                           {"fit_clips", split.bench.clips_train.count},
                           {"validation_clips", split.bench.clips_test.count},
                           {"test_clips", bench.clips_test.count},
                           {"quick", quick}};
    record["teachers"] = {{"image_top1", teachers.image_top1},
                          {"image_rendered_frames", teacher.image_augment},
                          {"image_epochs", teacher.image_epochs},
                          {"audio_top1", teachers.audio_top1},
                          {"audio_agreement", teachers.audio_agreement}};
    record["headroom"] = headroom_json(probes);
    record["baseline_student_top1"] = {{"mean", baseline_student.mean / 100}, {"n", baseline_student.n}};
    record["options"] = {{"epochs", run.epochs}, {"batch", run.batch_size}, {"lr", run.lr},
                         {"head_lr", run.head_lr}, {"seeds", seeds}, {"select", to_string(run.select)},
                         {"tune", tune}, {"tune_seeds", tune_seeds}, {"tune_mode", to_string(tune_mode)},
                         {"validation_fraction", validation_fraction}, {"workers", workers},
                         {"ranks", ranks}, {"drop_last", run.drop_last || ranks > 1}};
    nlohmann::json grid = nlohmann::json::object(), settings = nlohmann::json::object();
    for (Method m : methods) {
      if (m == Method::baseline) continue;
      for (const GridPoint& point : tuning_grid(m)) grid[to_string(m)].push_back(point.describe(m));
      settings[to_string(m)] = {{"setting", chosen[m].label(m)}, {"describe", chosen[m].describe(m)}};
    }
    record["grid"] = grid;
    record["chosen"] = settings;
    record["chosen_by"] = tune ? "validation top-1" : "documented";
    record["tuning"] = tuning;
    record["statistics"] = results.statistics(methods);
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& c : results.cells()) runs.push_back(detail::cell_json(c));
    record["runs"] = runs;
    record["seconds"] = wall;
    record["cpu_utilisation"] = utilisation;
    std::ofstream(json_path) << record.dump(1) << '\n';

    if (!plots_dir.empty())
      write_plots(plots_dir, results, split.bench.clips_train, bench.clips_test, methods, retrieval_mode);
    std::fprintf(stderr, "[%6.1f s] done: %s%s; average CPU use %.0f%% of %u cores\n", wall,
                 json_path.c_str(), plots_dir.empty() ? "" : (", " + plots_dir + "/").c_str(),
                 100 * utilisation, std::max(1u, std::thread::hardware_concurrency()));
  });
}
