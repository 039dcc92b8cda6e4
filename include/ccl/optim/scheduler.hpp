#pragma once
// optim::Scheduler<Policy>: steps a learning-rate schedule once per epoch and writes the value into
// ONE group of an optimiser. The official recipe (method.md §5) decays the student's group with
// MultiStep{{150, 225}, 0.1} while the composition heads' group keeps its lr: give the heads their
// own group and bind no scheduler to it.
//
//   optim::Sgd<float> sgd;
//   const Index student = sgd.add_group(optim::SgdOptions::official()).add("student", net).index();
//   optim::Scheduler<optim::MultiStep> schedule(sgd, student, optim::MultiStep{{150, 225}, 0.1});
//   for (epoch ...) { train_one_epoch(); schedule.step(); }
//
// Semantics of torch.optim.lr_scheduler: at construction the base lr is read from the group and
// the epoch counter is 0 (the group's lr is set to lr(base, 0)); each step() adds one epoch and
// sets the group's lr to lr(base, epoch). The scheduler keeps a reference to the optimiser, which
// must outlive it.

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/optim/schedules.hpp>

#include <cmath>
#include <functional>
#include <utility>

namespace ccl::optim {

template <class Policy>
class Scheduler {
 public:
  using policy_type = Policy;

  /// Bound to group `group` of `optimizer`; the base lr is that group's current lr.
  template <class Optimizer>
  Scheduler(Optimizer& optimizer, Index group, Policy policy)
      : policy_(std::move(policy)), base_lr_(optimizer.lr(group)) {
    apply_ = [&optimizer, group](double lr) { optimizer.set_lr(group, lr); };
    apply_(lr());
  }

  /// Unbound: only computes values (lr(), lr_at()), for plots and tests.
  Scheduler(double base_lr, Policy policy) : policy_(std::move(policy)), base_lr_(base_lr) {
    require(std::isfinite(base_lr) && base_lr >= 0,
            "Scheduler: base_lr must be finite and >= 0, got ", base_lr);
  }

  /// End of an epoch: advance the counter and update the bound group's lr.
  void step() {
    ++epoch_;
    if (apply_) apply_(lr());
  }

  /// The lr for the current epoch.
  double lr() const { return policy_.lr(base_lr_, epoch_); }
  /// The lr the schedule gives at any epoch (epoch >= 0).
  double lr_at(Index epoch) const {
    require(epoch >= 0, "Scheduler::lr_at: the epoch must be >= 0, got ", epoch);
    return policy_.lr(base_lr_, epoch);
  }

  Index epoch() const { return epoch_; }
  double base_lr() const { return base_lr_; }
  const Policy& policy() const { return policy_; }

  /// Sets the counter and base lr (checkpoint resume). The group's lr is not touched: it is part
  /// of the optimiser's own saved state.
  void restore(double base_lr, Index epoch) {
    require(epoch >= 0, "Scheduler::restore: the epoch must be >= 0, got ", epoch);
    require(std::isfinite(base_lr) && base_lr >= 0,
            "Scheduler::restore: base_lr must be finite and >= 0, got ", base_lr);
    base_lr_ = base_lr;
    epoch_ = epoch;
  }

 private:
  Policy policy_;
  double base_lr_;
  Index epoch_ = 0;
  std::function<void(double)> apply_;
};

}  // namespace ccl::optim
