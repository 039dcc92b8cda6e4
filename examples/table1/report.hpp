#pragma once
// The printed and written results: the headroom table, Table 1 in the paper's layout (mean ± 95 %
// CI over seeds beside the paper's UCF51 numbers), the paired differences to the baseline and to
// CCL, the retrieval tables, and the JSON of every cell (with its per-epoch curve).

#include "headroom.hpp"
#include "run.hpp"
#include "stats.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace table1 {

/// The paper's Table 1, UCF51 columns A, I, AI (poster, exact; method.md §7.1).
inline std::optional<double> paper_ucf51(Method m, Mode mode) {
  static const std::map<Method, std::array<double, 3>> table{
      {Method::baseline, {57.5, 57.5, 57.5}}, {Method::fitnet, {48.4, 67.4, 62.4}},
      {Method::pkt, {53.2, 58.2, 62.0}},      {Method::cor, {57.7, 65.5, 66.3}},
      {Method::rkd, {53.0, 55.4, 58.2}},      {Method::crd, {60.3, 61.4, 63.2}},
      {Method::ifd, {56.3, 54.2, 64.2}},      {Method::cmc, {59.2, 60.4, 63.1}},
      {Method::ccl, {64.9, 69.1, 70.0}}};
  const auto it = table.find(m);
  if (it == table.end()) return std::nullopt;
  switch (mode) {
    case Mode::audio: return it->second[0];
    case Mode::image: return it->second[1];
    case Mode::both: return it->second[2];
    case Mode::none: return it->second[0];
  }
  return std::nullopt;
}

inline constexpr Mode table_modes[] = {Mode::audio, Mode::image, Mode::both};

/// The cells of Table 1 (one per method, mode and seed, each at its method's chosen setting).
class Results {
 public:
  void add(const CellResult& r) { cells_.push_back(r); }
  const std::vector<CellResult>& cells() const { return cells_; }

  /// A metric (in %) of method m in mode `mode` per seed; the baseline has no mode.
  template <class Metric>
  std::map<std::uint64_t, double> per_seed(Method m, Mode mode, Metric metric) const {
    std::map<std::uint64_t, double> out;
    for (const auto& c : cells_)
      if (c.method == m && (m == Method::baseline || c.mode == mode)) out[c.seed] = 100 * metric(c);
    return out;
  }
  std::map<std::uint64_t, double> top1(Method m, Mode mode) const {
    return per_seed(m, mode, [](const CellResult& c) { return c.top1; });
  }
  std::map<std::uint64_t, double> recall(Method m, Mode mode, Index k) const {
    return per_seed(m, mode, [k](const CellResult& c) { return c.recall.at(k); });
  }

  static Summary summary(const std::map<std::uint64_t, double>& values) {
    std::vector<double> v;
    for (const auto& entry : values) v.push_back(entry.second);
    return summarise(v);
  }

  std::string markdown(const std::vector<Method>& methods) const {
    std::string out =
        "| Method | A (ours) | I (ours) | AI (ours) | A (paper) | I (paper) | AI (paper) |\n"
        "|---|---|---|---|---|---|---|\n";
    for (Method m : methods) {
      out += std::string("| ") + (m == Method::ccl ? "**CCL**" : to_string(m)) + " |";
      for (Mode mode : table_modes) out += " " + format_interval(summary(top1(m, mode))) + " |";
      for (Mode mode : table_modes) {
        const auto p = paper_ucf51(m, mode);
        out += " " + (p ? format_number(*p) : std::string("–")) + " |";
      }
      out += "\n";
    }
    return out;
  }

  /// Each method's per-seed difference to `reference` (top-1 points), mean ± 95 % CI; ✓ marks an
  /// interval that excludes 0.
  std::string paired_markdown(const std::vector<Method>& methods, Method reference) const {
    std::string out = std::string("| Method − ") + to_string(reference) +
                      " | A | I | AI |\n|---|---|---|---|\n";
    for (Method m : methods) {
      if (m == reference) continue;
      out += std::string("| ") + to_string(m) + " |";
      for (Mode mode : table_modes) {
        const Summary d = paired_difference(top1(m, mode), top1(reference, mode));
        out += " " + format_interval(d, true) + (d.resolved() ? " ✓" : "") + " |";
      }
      out += "\n";
    }
    return out;
  }

  std::string retrieval_markdown(const std::vector<Method>& methods, Mode mode) const {
    std::string out = std::string("| Method (") + to_string(mode) +
                      ") | R@1 | R@5 | R@10 | R@20 |\n|---|---|---|---|---|\n";
    for (Method m : methods) {
      if (top1(m, mode).empty()) continue;
      out += std::string("| ") + to_string(m) + " |";
      for (Index k : {1, 5, 10, 20}) out += " " + format_interval(summary(recall(m, mode, k))) + " |";
      out += "\n";
    }
    return out;
  }

  std::string retrieval_paired_markdown(const std::vector<Method>& methods, Mode mode,
                                        Method reference) const {
    std::string out = std::string("| Method (") + to_string(mode) + ") − " +
                      to_string(reference) + " | R@1 | R@5 | R@10 | R@20 |\n|---|---|---|---|---|\n";
    for (Method m : methods) {
      if (m == reference || top1(m, mode).empty()) continue;
      out += std::string("| ") + to_string(m) + " |";
      for (Index k : {1, 5, 10, 20}) {
        const Summary d = paired_difference(recall(m, mode, k), recall(reference, mode, k));
        out += " " + format_interval(d, true) + (d.resolved() ? " ✓" : "") + " |";
      }
      out += "\n";
    }
    return out;
  }

  /// The statistics behind the tables, for the JSON record.
  nlohmann::json statistics(const std::vector<Method>& methods) const {
    auto summary_json = [](const Summary& s) {
      nlohmann::json j = {{"mean", s.mean}, {"n", s.n}};
      if (s.n > 1) j["ci95"] = s.half_width, j["std"] = s.std, j["resolved"] = s.resolved();
      return j;
    };
    nlohmann::json out = nlohmann::json::array();
    for (Method m : methods) {
      for (Mode mode : table_modes) {
        if (top1(m, mode).empty()) continue;
        nlohmann::json row = {{"method", to_string(m)}, {"teachers", to_string(mode)}};
        row["top1"] = summary_json(summary(top1(m, mode)));
        for (Index k : {1, 5, 10, 20})
          row["recall"]["R@" + std::to_string(k)] = summary_json(summary(recall(m, mode, k)));
        for (Method ref : {Method::baseline, Method::ccl}) {
          if (m == ref || top1(ref, mode).empty()) continue;
          row[std::string("top1_minus_") + to_string(ref)] =
              summary_json(paired_difference(top1(m, mode), top1(ref, mode)));
        }
        out.push_back(row);
      }
    }
    return out;
  }

 private:
  std::vector<CellResult> cells_;
};

/// The headroom table: each probe beside the no-distillation student.
inline std::string headroom_markdown(const std::vector<ProbeResult>& probes,
                                     const Summary& baseline_student) {
  std::string out =
      "| Linear probe on the teacher's embeddings | validation top-1 | test top-1 | "
      "test top-1, related audio only | over the baseline student |\n|---|---|---|---|---|\n";
  for (const auto& p : probes) {
    char decay[32];
    std::snprintf(decay, sizeof decay, "%g", p.weight_decay);
    out += "| " + p.name + " (weight decay " + decay + ") |";
    out += " " + format_number(100 * p.validation_top1) + " | " + format_number(100 * p.test_top1) +
           " | " + (std::isnan(p.related_test_top1) ? std::string("–")
                                                     : format_number(100 * p.related_test_top1)) +
           " | " +
           (baseline_student.n > 0 ? format_number(100 * p.test_top1 - baseline_student.mean, true)
                                   : std::string("–")) +
           " |\n";
  }
  out += "| *baseline student (no distillation)* | | " + format_interval(baseline_student) +
         " | | |\n";
  return out;
}

inline nlohmann::json headroom_json(const std::vector<ProbeResult>& probes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : probes) {
    nlohmann::json j = {{"probe", p.name},
                        {"weight_decay", p.weight_decay},
                        {"validation_top1", p.validation_top1},
                        {"test_top1", p.test_top1},
                        {"fit_rows", p.fit_rows}};
    if (!std::isnan(p.related_test_top1)) j["related_audio_test_top1"] = p.related_test_top1;
    out.push_back(j);
  }
  return out;
}

}  // namespace table1
