#pragma once
// Progress: what a training run shows while it works. On a terminal, one line per epoch redrawn
// in place (a bar, samples done, running loss and accuracy, throughput); anywhere else (a log
// file, CI), one summary line per epoch, so logs stay readable. Progress goes to stderr by
// default, leaving stdout to results such as a printed table.

#include <ccl/core/types.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace ccl::pipeline {

enum class ProgressStyle {
  automatic,  ///< bar on a terminal, summary lines otherwise
  bar,
  lines,
  none,
};

class Progress {
 public:
  explicit Progress(ProgressStyle style = ProgressStyle::automatic, std::FILE* stream = stderr)
      : stream_(stream), style_(resolve(style, stream)) {}

  void start_epoch(Index epoch, Index epochs, Index samples) {
    epoch_ = epoch;
    epochs_ = epochs;
    samples_ = samples;
    last_draw_ = {};
  }

  /// After each batch: samples done so far in this epoch, running loss and accuracy, elapsed s.
  void update(Index done, double loss, double accuracy, double seconds) {
    if (style_ != ProgressStyle::bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < samples_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int width = 24;
    const int filled = samples_ > 0 ? int(width * done / samples_) : width;
    std::string bar(std::size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stream_,
                 "\repoch %lld/%lld [%s] %lld/%lld  loss %.4f  acc %5.1f%%  %.1f samples/s ",
                 static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(samples_), loss,
                 100.0 * accuracy, seconds > 0 ? double(done) / seconds : 0.0);
    std::fflush(stream_);
  }

  /// At the end of an epoch: the summary (eval_top1 < 0 when there was no evaluation).
  /// `eval_accuracy` is the top-`eval_k` accuracy on the evaluation set (< 0: none).
  void end_epoch(double loss, double accuracy, Index eval_k, double eval_accuracy, double seconds) {
    if (style_ == ProgressStyle::none) return;
    if (style_ == ProgressStyle::bar) std::fputc('\r', stream_);
    std::fprintf(stream_, "epoch %lld/%lld  loss %.4f  train acc %5.1f%%",
                 static_cast<long long>(epoch_), static_cast<long long>(epochs_), loss,
                 100.0 * accuracy);
    if (eval_accuracy >= 0) {
      std::fprintf(stream_, "  eval top-%lld %5.1f%%", static_cast<long long>(eval_k),
                   100.0 * eval_accuracy);
    }
    std::fprintf(stream_, "  %.1f s  %.1f samples/s%s\n", seconds,
                 seconds > 0 ? double(samples_) / seconds : 0.0,
                 style_ == ProgressStyle::bar ? "          " : "");
    std::fflush(stream_);
  }

  ProgressStyle style() const { return style_; }

 private:
  static ProgressStyle resolve(ProgressStyle style, std::FILE* stream) {
    if (style != ProgressStyle::automatic) return style;
#if defined(__unix__) || defined(__APPLE__)
    return isatty(fileno(stream)) ? ProgressStyle::bar : ProgressStyle::lines;
#else
    (void)stream;
    return ProgressStyle::lines;
#endif
  }

  std::FILE* stream_;
  ProgressStyle style_;
  Index epoch_ = 0, epochs_ = 0, samples_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ccl::pipeline
