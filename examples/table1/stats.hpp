#pragma once
// Means with 95 % confidence intervals (Student's t over seeds) and paired differences: the
// statistics that decide whether a difference between two methods is resolved. Seeds are shared
// across methods (same data order, same initial student), so a method's per-seed difference to
// the baseline removes the seed-to-seed spread that both share; its interval is what the table
// marks.

#include <ccl/core/types.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace table1 {

/// The 0.975 quantile of Student's t with `df` degrees of freedom (two-sided 95 %).
inline double t_quantile_975(ccl::Index df) {
  static const double table[] = {12.706, 4.303, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093,
                                 2.086,  2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
                                 2.045,  2.042, 2.040};
  if (df < 1) return std::nan("");
  if (df <= 30) return table[df - 1];
  return 1.960 + 2.4 / double(df);  // within 0.002 of the exact value for df > 30
}

struct Summary {
  double mean = 0, std = 0;
  double half_width = std::nan("");  ///< of the 95 % interval; NaN with one value
  ccl::Index n = 0;

  /// True when the 95 % interval excludes zero (for differences).
  bool resolved() const { return n > 1 && std::fabs(mean) > half_width; }
};

inline Summary summarise(const std::vector<double>& values) {
  Summary s;
  s.n = ccl::Index(values.size());
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= double(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / double(values.size() - 1));  // sample standard deviation
    s.half_width = t_quantile_975(s.n - 1) * s.std / std::sqrt(double(s.n));
  }
  return s;
}

/// Per-seed differences a[s] - b[s] over the seeds both have.
inline Summary paired_difference(const std::map<std::uint64_t, double>& a,
                                 const std::map<std::uint64_t, double>& b) {
  std::vector<double> d;
  for (const auto& [seed, value] : a) {
    const auto it = b.find(seed);
    if (it != b.end()) d.push_back(value - it->second);
  }
  return summarise(d);
}

inline std::string format_number(double v, bool sign = false) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, sign ? "%+.1f" : "%.1f", v);
  return buffer;
}

/// "mean ± half-width" (95 % CI), or the mean alone for one value.
inline std::string format_interval(const Summary& s, bool sign = false) {
  if (s.n == 0) return "–";
  if (s.n == 1) return format_number(s.mean, sign);
  return format_number(s.mean, sign) + " ± " + format_number(s.half_width);
}

}  // namespace table1
