#pragma once
// What every benchmark program shares: deterministic inputs that the PyTorch peer script
// reproduces bit for bit (so both sides work on identical numbers), and peak-memory readings.

#include <ccl/core/types.hpp>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace ccl::bench {

inline constexpr Index feature_dim = 512;
inline constexpr int classes = 51;  // UCF51, the paper's main benchmark

/// splitmix64: a counter-based generator that NumPy reproduces exactly (bench/peer_torch.py).
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// [rows, cols] with entries k/2^23 - 1 in [-1, 1), k the top 24 bits of splitmix64(stream·2^40
/// + index): exactly representable in float, so C++ and Python see the same values.
inline RowMatrix<float> uniform_matrix(Index rows, Index cols, std::uint64_t stream) {
  RowMatrix<float> m(rows, cols);
  for (Index i = 0; i < rows * cols; ++i) {
    const auto k = splitmix64((stream << 40) + std::uint64_t(i)) >> 40;
    m.data()[i] = float(double(k) / double(1 << 23) - 1.0);
  }
  return m;
}

/// Labels i mod 51: every class present, ~B/51 positives per row.
inline std::vector<std::int64_t> cyclic_labels(Index rows) {
  std::vector<std::int64_t> y(static_cast<std::size_t>(rows));
  for (Index i = 0; i < rows; ++i) y[static_cast<std::size_t>(i)] = i % classes;
  return y;
}

/// A line of /proc/self/status in KiB ("VmHWM", "VmRSS"); -1 where unavailable (not Linux).
inline double status_kib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1));
  }
  return -1;
}

/// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so the next reading is the peak
/// of what runs in between. Linux >= 4.0; a no-op elsewhere.
inline void reset_peak_memory() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}

inline double peak_memory_mib() { return status_kib("VmHWM") / 1024.0; }

}  // namespace ccl::bench
