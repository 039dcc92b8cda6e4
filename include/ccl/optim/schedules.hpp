#pragma once
// Learning-rate schedule policies: closed-form functions lr(base_lr, epoch), epoch counted from 0
// like PyTorch's `last_epoch` after the scheduler's construction. A Scheduler (scheduler.hpp)
// holds the epoch counter and writes the value into one optimiser group.
//
// Closed forms rather than PyTorch's recursive get_lr(): the value at epoch e depends on e only,
// so a run resumed from a checkpoint at epoch e sees the same learning rates as an uninterrupted
// one, and values do not drift by repeated multiplication. (For MultiStep the two agree to the
// last bit or two; for cosine the closed form is what PyTorch itself uses when an epoch is given.)
//
// Policy interface: static constexpr const char* name; double lr(double base_lr, Index epoch)
// const; std::vector<double> config() const (the settings, saved in checkpoints so that a resumed
// run can check it uses the same schedule).

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::optim {

/// lr = base_lr for every epoch.
struct Constant {
  static constexpr const char* name = "constant";
  double lr(double base_lr, Index /*epoch*/) const { return base_lr; }
  std::vector<double> config() const { return {}; }
};

/// torch.optim.lr_scheduler.MultiStepLR: lr = base_lr · γ^k, k = the number of milestones <= epoch
/// (a repeated milestone counts twice, as in PyTorch). The official CCL schedule is
/// MultiStep{{150, 225}, 0.1}: lr 1e-3 for epochs 0–149, 1e-4 for 150–224, 1e-5 from 225 on
/// (the scripts' 1-based epochs 1–150, 151–225, 226–300; method.md §5).
struct MultiStep {
  static constexpr const char* name = "multistep";
  std::vector<Index> milestones;
  double gamma = 0.1;

  MultiStep(std::vector<Index> milestone_epochs, double decay)
      : milestones(std::move(milestone_epochs)), gamma(decay) {
    require(std::is_sorted(milestones.begin(), milestones.end()),
            "MultiStep: the milestones must be in increasing order");
    require(milestones.empty() || milestones.front() >= 0,
            "MultiStep: milestones must be >= 0, got ",
            milestones.empty() ? 0 : milestones.front());
    require(std::isfinite(gamma) && gamma > 0, "MultiStep: gamma must be finite and > 0, got ",
            gamma);
  }

  double lr(double base_lr, Index epoch) const {
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), epoch) -
                        milestones.begin();  // Python's bisect_right
    return base_lr * std::pow(gamma, double(passed));
  }

  std::vector<double> config() const {
    std::vector<double> values(milestones.begin(), milestones.end());
    values.push_back(gamma);
    return values;
  }
};

/// torch.optim.lr_scheduler.CosineAnnealingLR in closed form:
///   lr = η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2.
/// It reaches η_min at epoch T_max and, like PyTorch's closed form, rises again after it (no
/// restarts, no clamping): set T_max to the number of epochs.
struct Cosine {
  static constexpr const char* name = "cosine";
  Index t_max = 1;
  double eta_min = 0.0;

  /// `period` (T_max) of any integer type: int, std::size_t, Index, ... (a vector's size() or a
  /// loop bound pass without a cast or a narrowing warning); it must be > 0 and fit in Index.
  template <class Integer, class = std::enable_if_t<std::is_integral_v<Integer> &&
                                                    !std::is_same_v<Integer, bool>>>
  explicit Cosine(Integer period, double minimum = 0.0)
      : t_max(checked_period(period)), eta_min(minimum) {
    require(std::isfinite(eta_min) && eta_min >= 0, "Cosine: eta_min must be finite and >= 0, got ",
            eta_min);
  }

  double lr(double base_lr, Index epoch) const {
    const double pi = 3.14159265358979323846;
    return eta_min +
           (base_lr - eta_min) * (1.0 + std::cos(pi * double(epoch) / double(t_max))) / 2.0;
  }

  std::vector<double> config() const { return {double(t_max), eta_min}; }

 private:
  template <class Integer>
  static Index checked_period(Integer period) {
    require(period > 0, "Cosine: t_max must be > 0, got ", period);
    if constexpr (std::is_unsigned_v<Integer>)
      require(std::uintmax_t(period) <= std::uintmax_t(std::numeric_limits<Index>::max()),
              "Cosine: t_max ", period, " does not fit in a 64-bit signed epoch count");
    return Index(period);
  }
};

}  // namespace ccl::optim
