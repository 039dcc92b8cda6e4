#pragma once
// The cells of the experiment as independent jobs: what a cell is (method, teachers, hyper-parameter
// setting, seed), each method's tuning grid, the on-disk cache of finished cells, and the worker
// pool that runs cells concurrently.
//
// Cells share nothing mutable (each builds its own student, teachers are read-only), so they run
// on `workers` threads, each single-threaded (ccl::set_num_threads(1)): on a 2-core machine two
// cells at once use both cores fully (one cell on two threads gains 1.65-1.84x), and results do
// not depend on the core count (a threaded step sums per-thread gradients in thread order). A cell's result depends only on its specification, never on which worker ran it
// or in what order, so the tables do not depend on the worker count.
//
// A finished cell is written to <cache>/cells/<protocol hash>/<cell>.json (atomically) before the
// next one starts; a killed run loses only the cells in flight, and a rerun, or a run with more
// seeds, reads the finished ones back. The protocol hash covers everything a cell's result
// depends on besides its own specification (benchmark, teachers, schedule, split, selection).

#include "run.hpp"

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace table1 {

/// One hyper-parameter setting of a method (a point of its tuning grid).
struct GridPoint {
  double beta_scale = 1.0;        ///< baselines: β / default β
  double ccl_weight_scale = 1.0;  ///< CCL: loss weight / official loss weight
  double tau_audio = 0.5, tau_image = 0.1;
  bool paper_routing = false;
  double lambda = 0.5;

  /// A short name, also used in file names: "beta1", "beta0.1", "official", "w0.3",
  /// "tau0.2-0.2", "paper-lambda0.5".
  std::string label(Method m) const {
    char b[64];
    if (m == Method::baseline) return "-";
    if (m != Method::ccl) {
      std::snprintf(b, sizeof b, "beta%g", beta_scale);
    } else if (paper_routing) {
      std::snprintf(b, sizeof b, "paper-lambda%g", lambda);
    } else if (tau_audio != 0.5 || tau_image != 0.1) {
      if (ccl_weight_scale != 1.0)
        std::snprintf(b, sizeof b, "tau%g-%g-w%g", tau_audio, tau_image, ccl_weight_scale);
      else
        std::snprintf(b, sizeof b, "tau%g-%g", tau_audio, tau_image);
    } else if (ccl_weight_scale != 1.0) {
      std::snprintf(b, sizeof b, "w%g", ccl_weight_scale);
    } else {
      return "official";
    }
    return b;
  }

  /// Human-readable form for the tables.
  std::string describe(Method m) const {
    char b[96];
    if (m == Method::baseline) return "–";
    if (m != Method::ccl) {
      std::snprintf(b, sizeof b, "β × %g", beta_scale);
    } else if (paper_routing) {
      std::snprintf(b, sizeof b, "paper routing, λ = %g, τ = %g / %g", lambda, tau_audio, tau_image);
    } else {
      std::snprintf(b, sizeof b, "weight × %g, τ_a = %g, τ_i = %g", ccl_weight_scale, tau_audio,
                    tau_image);
    }
    return b;
  }

  void apply(RunOptions& o) const {
    o.beta_scale = beta_scale;
    o.ccl_weight_scale = ccl_weight_scale;
    o.tau_audio = tau_audio;
    o.tau_image = tau_image;
    o.ccl_paper_routing = paper_routing;
    o.ccl_lambda = lambda;
  }
};

/// Each method's tuning grid, the same size for every method that has a loss weight; the first
/// point is the method's published default (and wins ties).
inline std::vector<GridPoint> tuning_grid(Method m) {
  if (m == Method::baseline) return {GridPoint{}};
  if (m == Method::ccl) {
    GridPoint official, w03, w01, tau, paper;
    w03.ccl_weight_scale = 0.3;
    w01.ccl_weight_scale = 0.1;
    tau.tau_audio = tau.tau_image = 0.2;
    paper.paper_routing = true;
    return {official, w03, w01, tau, paper};
  }
  std::vector<GridPoint> out;
  for (double scale : {1.0, 0.3, 0.1, 0.03, 0.01}) {
    GridPoint p;
    p.beta_scale = scale;
    out.push_back(p);
  }
  return out;
}

/// One job: a method with a teacher setting, a hyper-parameter setting and a seed.
struct CellSpec {
  Method method = Method::baseline;
  Mode mode = Mode::none;
  GridPoint point;
  std::uint64_t seed = 1;

  std::string name() const {
    std::string s = std::string(to_string(method)) + "-" +
                    (mode == Mode::none ? std::string("none") : to_string(mode)) + "-" +
                    point.label(method) + "-s" + std::to_string(seed);
    for (char& c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) c = '_';
    return s;
  }
};

namespace detail {

inline std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline nlohmann::json cell_json(const CellResult& c) {
  nlohmann::json r;
  r["method"] = to_string(c.method);
  r["teachers"] = to_string(c.mode);
  r["seed"] = c.seed;
  r["config"] = c.config;
  r["top1"] = c.top1;
  r["validation_top1"] = c.validation_top1;
  r["selected_epoch"] = c.selected_epoch;
  r["seconds"] = c.seconds;
  for (std::size_t k = 0; k < c.recall.ks.size(); ++k)
    r["recall"]["R@" + std::to_string(c.recall.ks[k])] = c.recall.recall[k];
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& p : c.curve)
    curve.push_back({{"epoch", p.epoch},
                     {"loss", p.loss},
                     {"train_top1", p.train_top1},
                     {"validation_top1", p.validation_top1},
                     {"validation_loss", p.validation_loss}});
  r["curve"] = curve;
  r["neighbours"] = c.neighbours;
  return r;
}

/// Reads a cached cell back; throws ccl::error on anything that is not a well-formed result of
/// `spec` under this protocol (the caller then recomputes the cell).
inline CellResult cell_from_json(const nlohmann::json& r, const CellSpec& spec, Index epochs,
                                 Index test_count, Index gallery_count) {
  const auto fail = [&](const std::string& why) {
    throw ccl::error("cached cell " + spec.name() + ": " + why);
  };
  CellResult c;
  try {
    if (r.at("method").get<std::string>() != to_string(spec.method) ||
        r.at("teachers").get<std::string>() != to_string(spec.mode) ||
        r.at("seed").get<std::uint64_t>() != spec.seed ||
        r.at("config").get<std::string>() != spec.point.label(spec.method))
      fail("it describes another cell");
    c.method = spec.method;
    c.mode = spec.mode;
    c.seed = spec.seed;
    c.config = spec.point.label(spec.method);
    c.top1 = r.at("top1").get<double>();
    c.validation_top1 = r.at("validation_top1").get<double>();
    c.selected_epoch = r.at("selected_epoch").get<Index>();
    c.seconds = r.at("seconds").get<double>();
    for (Index k : {1, 2, 5, 10, 20}) {
      c.recall.ks.push_back(k);
      c.recall.recall.push_back(r.at("recall").at("R@" + std::to_string(k)).get<double>());
    }
    for (const auto& p : r.at("curve"))
      c.curve.push_back({p.at("epoch").get<Index>(), p.at("loss").get<double>(),
                         p.at("train_top1").get<double>(), p.at("validation_top1").get<double>(),
                         p.at("validation_loss").get<double>()});
    c.neighbours = r.at("neighbours").get<std::vector<std::vector<Index>>>();
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("malformed (") + e.what() + ")");
  }
  const auto fraction = [](double v) { return std::isfinite(v) && v >= 0 && v <= 1; };
  if (!fraction(c.top1) || !fraction(c.validation_top1)) fail("an accuracy outside [0, 1]");
  for (double v : c.recall.recall)
    if (!fraction(v)) fail("a recall outside [0, 1]");
  if (Index(c.curve.size()) != epochs) fail("its curve does not have " + std::to_string(epochs) + " epochs");
  if (c.selected_epoch < 1 || c.selected_epoch > epochs) fail("the selected epoch is out of range");
  if (Index(c.neighbours.size()) != Index(figure_queries(test_count).size())) fail("wrong neighbour count");
  for (const auto& row : c.neighbours)
    for (Index g : row)
      if (g < 0 || g >= gallery_count) fail("a neighbour index outside the gallery");
  return c;
}

}  // namespace detail

/// Finished cells on disk, under one protocol.
class CellCache {
 public:
  /// `protocol`: a description of everything besides the cell's specification that its result
  /// depends on; cells of another protocol live in another directory and are never mixed up.
  CellCache(const std::filesystem::path& root, const std::string& protocol, Index epochs,
            Index test_count, Index gallery_count)
      : epochs_(epochs), test_count_(test_count), gallery_count_(gallery_count) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(detail::fnv1a(protocol)));
    dir_ = root / "cells" / hash;
    std::filesystem::create_directories(dir_);
    ccl::data::write_file_atomically(dir_ / "protocol.txt",
                                     std::vector<std::uint8_t>(protocol.begin(), protocol.end()));
  }

  const std::filesystem::path& directory() const { return dir_; }

  /// The cached result of `spec`, if a valid one exists (a damaged file is reported and ignored).
  std::optional<CellResult> find(const CellSpec& spec) const {
    const auto path = dir_ / (spec.name() + ".json");
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    const std::string bytes = text.str();
    if (bytes.size() > (std::size_t(1) << 24)) {
      std::fprintf(stderr, "ignoring %s: larger than a cell result can be\n", path.string().c_str());
      return std::nullopt;
    }
    try {
      const auto j = nlohmann::json::parse(bytes);
      return detail::cell_from_json(j, spec, epochs_, test_count_, gallery_count_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ignoring %s (%s); the cell runs again\n", path.string().c_str(), e.what());
      return std::nullopt;
    }
  }

  void store(const CellSpec& spec, const CellResult& result) const {
    const std::string text = detail::cell_json(result).dump(1) + "\n";
    ccl::data::write_file_atomically(dir_ / (spec.name() + ".json"),
                                     std::vector<std::uint8_t>(text.begin(), text.end()));
  }

 private:
  std::filesystem::path dir_;
  Index epochs_, test_count_, gallery_count_;
};

/// Runs `run(spec)` for every spec on `workers` threads (each takes the next spec when it is
/// free) and returns the results in the order of `specs`. The first exception stops the other
/// workers after their current cell and is rethrown here.
inline std::vector<CellResult> run_cells(const std::vector<CellSpec>& specs, int workers,
                                         const std::function<CellResult(const CellSpec&)>& run) {
  std::vector<CellResult> results(specs.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= specs.size() || failed.load()) return;
      try {
        results[i] = run(specs[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  const int n = std::max(1, std::min<int>(workers, int(specs.size())));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace table1
