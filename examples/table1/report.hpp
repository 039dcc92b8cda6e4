#pragma once
// Aggregation over seeds and the printed/written results: Table 1 in the paper's layout (ours
// beside the paper's UCF51 numbers, method.md §7.1), the retrieval table, and the JSON record.

#include "run.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
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

struct Summary {
  double mean = 0, std = 0;
  Index n = 0;
};

inline Summary summarise(const std::vector<double>& values) {
  Summary s;
  s.n = Index(values.size());
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= double(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / double(values.size() - 1));  // sample standard deviation
  }
  return s;
}

class Results {
 public:
  void add(const CellResult& r) { cells_.push_back(r); }
  const std::vector<CellResult>& cells() const { return cells_; }

  /// Top-1 (%) of a method in a mode over seeds; the baseline has one value for every mode.
  std::optional<Summary> top1(Method m, Mode mode) const {
    std::vector<double> values;
    for (const auto& c : cells_) {
      if (c.method == m && (m == Method::baseline || c.mode == mode)) values.push_back(100 * c.top1);
    }
    if (values.empty()) return std::nullopt;
    return summarise(values);
  }

  std::optional<Summary> recall(Method m, Mode mode, Index k) const {
    std::vector<double> values;
    for (const auto& c : cells_) {
      if (c.method == m && (m == Method::baseline || c.mode == mode)) values.push_back(100 * c.recall.at(k));
    }
    if (values.empty()) return std::nullopt;
    return summarise(values);
  }

  std::string markdown(const std::vector<Method>& methods, Index seeds) const {
    std::string out;
    out += "| Method | A (ours) | I (ours) | AI (ours) | A (paper) | I (paper) | AI (paper) |\n";
    out += "|---|---|---|---|---|---|---|\n";
    for (Method m : methods) {
      out += std::string("| ") + (m == Method::ccl ? "**CCL**" : to_string(m)) + " |";
      for (Mode mode : {Mode::audio, Mode::image, Mode::both}) out += " " + cell(top1(m, mode), seeds) + " |";
      for (Mode mode : {Mode::audio, Mode::image, Mode::both}) {
        const auto p = paper_ucf51(m, mode);
        out += " " + (p ? format(*p) : std::string("–")) + " |";
      }
      out += "\n";
    }
    return out;
  }

  std::string retrieval_markdown(const std::vector<Method>& methods, Mode mode, Index seeds) const {
    std::string out = std::string("| Method (") + to_string(mode) + ") | R@1 | R@5 | R@10 | R@20 |\n|---|---|---|---|---|\n";
    for (Method m : methods) {
      if (!top1(m, mode)) continue;
      out += std::string("| ") + to_string(m) + " |";
      for (Index k : {1, 5, 10, 20}) out += " " + cell(recall(m, mode, k), seeds) + " |";
      out += "\n";
    }
    return out;
  }

  nlohmann::json json() const {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : cells_) {
      nlohmann::json r;
      r["method"] = to_string(c.method);
      r["teachers"] = to_string(c.mode);
      r["seed"] = c.seed;
      r["top1"] = c.top1;
      r["seconds"] = c.seconds;
      for (std::size_t k = 0; k < c.recall.ks.size(); ++k) {
        r["recall"]["R@" + std::to_string(c.recall.ks[k])] = c.recall.recall[k];
      }
      cells.push_back(r);
    }
    return cells;
  }

 private:
  static std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", v);
    return buffer;
  }
  static std::string cell(const std::optional<Summary>& s, Index seeds) {
    if (!s) return "–";
    if (seeds <= 1 || s->n <= 1) return format(s->mean);
    return format(s->mean) + " ± " + format(s->std);
  }

  std::vector<CellResult> cells_;
};

}  // namespace table1
