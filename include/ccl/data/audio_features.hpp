#pragma once
// Waveform → features for the audio teacher: band-limited resampling (espeak-ng speaks at
// 22,050 Hz; the benchmark's target is 16 kHz mono, the rate of speech models and of PANNs'
// 16 kHz variant) and a log-mel spectrogram (the input of PANNs-style audio CNNs, method.md
// §3.2). Everything is computed in double with our own FFT, so results do not depend on an
// FFT library and are identical for identical input on a given compiler and platform.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

namespace ccl::data {

inline constexpr double audio_pi = 3.14159265358979323846;

/// Resamples by windowed-sinc interpolation (Hann window, 16 input samples each side) with the
/// low-pass at 95 % of the lower Nyquist frequency, so downsampling does not alias. The rates'
/// ratio is rational (e.g. 22,050 → 16,000 Hz is 441/320), so the fractional positions repeat
/// with period out_rate / gcd and the kernel is tabulated once per phase.
inline std::vector<float> resample(const std::vector<float>& in, int in_rate, int out_rate) {
  require(in_rate > 0 && out_rate > 0, "resample: rates must be positive, got ", in_rate, " and ",
          out_rate);
  if (in_rate == out_rate || in.empty()) return in;
  int a = in_rate, b = out_rate;
  while (b != 0) {
    const int r = a % b;
    a = b;
    b = r;
  }
  const Index up = out_rate / a, down = in_rate / a;  // output n sits at input n * down / up
  require(up <= 100000, "resample: the rate ratio ", in_rate, "/", out_rate,
          " needs too many kernel phases");
  const double cutoff = 0.5 * std::min(1.0, double(out_rate) / in_rate) * 0.95;  // cycles/sample
  const Index half = 16, taps = 2 * half;
  // table[p][j]: weight of input k0 - half + 1 + j for the output at k0 + p / up.
  std::vector<double> table(std::size_t(up * taps));
  for (Index p = 0; p < up; ++p)
    for (Index j = 0; j < taps; ++j) {
      const double d = double(p) / double(up) + double(half - 1 - j);
      const double x = 2.0 * cutoff * d;
      const double sinc = x == 0.0 ? 1.0 : std::sin(audio_pi * x) / (audio_pi * x);
      const double window = std::abs(d) >= half ? 0.0 : 0.5 + 0.5 * std::cos(audio_pi * d / half);
      table[std::size_t(p * taps + j)] = 2.0 * cutoff * sinc * window;
    }
  const auto size = Index(in.size());
  const Index out_count = size * up / down;
  std::vector<float> out(std::size_t(out_count), 0.0f);
  for (Index n = 0; n < out_count; ++n) {
    const Index k0 = n * down / up, p = n * down % up;
    const double* weights = table.data() + p * taps;
    double sum = 0;
    for (Index j = 0; j < taps; ++j) {
      const Index k = k0 - half + 1 + j;
      if (k >= 0 && k < size) sum += double(in[std::size_t(k)]) * weights[j];
    }
    out[std::size_t(n)] = float(sum);
  }
  return out;
}

/// Log-mel settings. Bounds (checked by LogMelSpectrogram before it allocates anything, so that a
/// hostile config cannot overflow the filter bank's size or allocate gigabytes): n_fft a power of
/// two in [16, 8192] (512 ms at 16 kHz), hop in [1, 1,048,576], mel_bins in [1, 1024]: the
/// filter bank then stays below 34 MB.
struct LogMelOptions {
  static constexpr int max_n_fft = 1 << 13;
  static constexpr int max_hop = 1 << 20;
  static constexpr int max_mel_bins = 1024;

  int sample_rate = 16000;
  int n_fft = 512;     // 32 ms Hann window at 16 kHz
  int hop = 320;       // 20 ms: 49 frames per second
  int mel_bins = 40;
  double f_min = 20.0;
  double f_max = 8000.0;
  double floor = 1e-6;  // log(energy + floor): silence maps to log(1e-6) ≈ -13.8, never to 0
};

/// Log-mel spectrogram with HTK mel triangles on the power spectrum. Output is row-major
/// [mel_bins, frames] (channels × time, the layout of a 1D CNN over time).
class LogMelSpectrogram {
 public:
  explicit LogMelSpectrogram(LogMelOptions options = {}) : options_(options) {
    const int n = options.n_fft;
    require(n >= 16 && n <= LogMelOptions::max_n_fft && (n & (n - 1)) == 0,
            "LogMelSpectrogram: n_fft must be a power of two in [16, ", LogMelOptions::max_n_fft,
            "], got ", n);
    require(options.hop > 0 && options.hop <= LogMelOptions::max_hop,
            "LogMelSpectrogram: hop must be in [1, ", LogMelOptions::max_hop, "], got ",
            options.hop);
    require(options.mel_bins > 0 && options.mel_bins <= LogMelOptions::max_mel_bins,
            "LogMelSpectrogram: mel_bins must be in [1, ", LogMelOptions::max_mel_bins, "], got ",
            options.mel_bins);
    require(0 <= options.f_min && options.f_min < options.f_max &&
                options.f_max <= options.sample_rate / 2.0,
            "LogMelSpectrogram: need 0 <= f_min < f_max <= sample_rate/2, got ", options.f_min,
            ", ", options.f_max);
    require(options.floor > 0 && options.floor < 1e30,
            "LogMelSpectrogram: floor must be positive and finite, got ", options.floor);
    window_.resize(std::size_t(n));
    for (int i = 0; i < n; ++i) window_[std::size_t(i)] = 0.5 - 0.5 * std::cos(2 * audio_pi * i / n);
    const auto mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
    const auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
    const int bins = n / 2 + 1;
    filters_.assign(std::size_t(options.mel_bins) * std::size_t(bins), 0.0);
    first_.assign(std::size_t(options.mel_bins), -1);
    last_.assign(std::size_t(options.mel_bins), 0);
    const double m0 = mel(options.f_min), m1 = mel(options.f_max);
    for (int b = 0; b < options.mel_bins; ++b) {
      const double lo = hz(m0 + (m1 - m0) * b / (options.mel_bins + 1));
      const double mid = hz(m0 + (m1 - m0) * (b + 1) / (options.mel_bins + 1));
      const double hi = hz(m0 + (m1 - m0) * (b + 2) / (options.mel_bins + 1));
      for (int k = 0; k < bins; ++k) {
        const double f = double(k) * options.sample_rate / n;
        double w = 0;
        if (f > lo && f <= mid) w = (f - lo) / (mid - lo);
        else if (f > mid && f < hi) w = (hi - f) / (hi - mid);
        filters_[std::size_t(b) * std::size_t(bins) + std::size_t(k)] = w;
        if (w > 0) {
          if (first_[std::size_t(b)] < 0) first_[std::size_t(b)] = k;
          last_[std::size_t(b)] = k + 1;
        }
      }
    }
  }

  const LogMelOptions& options() const { return options_; }

  Index frames(Index samples) const {
    return samples < options_.n_fft ? 0 : 1 + (samples - options_.n_fft) / options_.hop;
  }

  std::vector<float> operator()(const std::vector<float>& wave) const {
    const int n = options_.n_fft, bins = n / 2 + 1, mels = options_.mel_bins;
    const Index count = frames(Index(wave.size()));
    require(count > 0, "LogMelSpectrogram: the waveform has ", wave.size(),
            " samples, fewer than n_fft = ", n);
    std::vector<float> out(std::size_t(mels) * std::size_t(count));
    std::vector<std::complex<double>> buffer(static_cast<std::size_t>(n));
    std::vector<double> power(static_cast<std::size_t>(bins));
    for (Index t = 0; t < count; ++t) {
      for (int i = 0; i < n; ++i)
        buffer[std::size_t(i)] = wave[std::size_t(t * options_.hop + i)] * window_[std::size_t(i)];
      fft(buffer);
      for (int k = 0; k < bins; ++k) power[std::size_t(k)] = std::norm(buffer[std::size_t(k)]);
      for (int b = 0; b < mels; ++b) {
        double energy = 0;
        for (int k = std::max(first_[std::size_t(b)], 0); k < last_[std::size_t(b)]; ++k)
          energy += filters_[std::size_t(b) * std::size_t(bins) + std::size_t(k)] * power[std::size_t(k)];
        out[std::size_t(b) * std::size_t(count) + std::size_t(t)] =
            float(std::log(energy + options_.floor));
      }
    }
    return out;
  }

  /// In-place iterative radix-2 FFT (size a power of two).
  static void fft(std::vector<std::complex<double>>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
      std::size_t bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
      const double angle = -2 * audio_pi / double(len);
      const std::complex<double> root(std::cos(angle), std::sin(angle));
      for (std::size_t i = 0; i < n; i += len) {
        std::complex<double> w(1.0, 0.0);
        for (std::size_t k = 0; k < len / 2; ++k) {
          const auto u = a[i + k], v = a[i + k + len / 2] * w;
          a[i + k] = u + v;
          a[i + k + len / 2] = u - v;
          w *= root;
        }
      }
    }
  }

 private:
  LogMelOptions options_;
  std::vector<double> window_;
  std::vector<double> filters_;
  std::vector<int> first_, last_;  // the non-zero range of each mel triangle
};

}  // namespace ccl::data
