#pragma once
// optim::Scheduler<Policy>: steps a learning-rate schedule once per epoch and writes the value into
// one or several groups of an optimiser. The official recipe (method.md §5) decays the student's
// group with MultiStep{{150, 225}, 0.1} while the composition heads' group keeps its lr: give the
// heads their own group and bind no scheduler to it.
//
//   optim::Sgd<float> sgd;
//   const Index student = sgd.add_group(optim::SgdOptions::official()).add("student", net).index();
//   optim::Scheduler<optim::MultiStep> schedule(sgd, student, optim::MultiStep{{150, 225}, 0.1});
//   for (epoch ...) { train_one_epoch(); schedule.step(); }
//
// One schedule for several groups (e.g. weights and biases in two groups, or an encoder at a
// tenth of the head's lr): bind them all; each group keeps its own base lr and follows the same
// curve, lr_g(epoch) = policy.lr(base_lr_g, epoch).
//
//   optim::Scheduler<optim::Cosine> cosine(adam, {encoder, head}, optim::Cosine(epochs));
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
#include <set>
#include <utility>
#include <vector>

namespace ccl::optim {

template <class Policy>
class Scheduler {
 public:
  using policy_type = Policy;

  /// Bound to group `group` of `optimizer`; the base lr is that group's current lr.
  template <class Optimizer>
  Scheduler(Optimizer& optimizer, Index group, Policy policy)
      : Scheduler(optimizer, std::vector<Index>{group}, std::move(policy)) {}

  /// Bound to several groups of `optimizer` (distinct, at least one); each group's base lr is
  /// its current lr, and all follow the same schedule.
  template <class Optimizer>
  Scheduler(Optimizer& optimizer, std::vector<Index> groups, Policy policy)
      : policy_(std::move(policy)), groups_(std::move(groups)) {
    require(!groups_.empty(), "Scheduler: no optimiser group given");
    require(std::set<Index>(groups_.begin(), groups_.end()).size() == groups_.size(),
            "Scheduler: a group is listed twice");
    for (Index group : groups_) base_lrs_.push_back(optimizer.lr(group));
    // The groups are captured by value so that a copied scheduler drives the same groups.
    apply_ = [&optimizer, bound = groups_](Index position, double lr) {
      optimizer.set_lr(bound[std::size_t(position)], lr);
    };
    apply_all();
  }

  /// Unbound: only computes values (lr(), lr_at()), for plots and tests.
  Scheduler(double base_lr, Policy policy) : policy_(std::move(policy)), base_lrs_{base_lr} {
    require(std::isfinite(base_lr) && base_lr >= 0,
            "Scheduler: base_lr must be finite and >= 0, got ", base_lr);
  }

  /// End of an epoch: advance the counter and update the bound group's lr.
  void step() {
    ++epoch_;
    apply_all();
  }

  /// The lr for the current epoch (of the first bound group).
  double lr() const { return policy_.lr(base_lrs_.front(), epoch_); }
  /// The lr the schedule gives at any epoch (epoch >= 0), for the first bound group.
  double lr_at(Index epoch) const {
    require(epoch >= 0, "Scheduler::lr_at: the epoch must be >= 0, got ", epoch);
    return policy_.lr(base_lrs_.front(), epoch);
  }

  Index epoch() const { return epoch_; }
  /// The base lr of the first bound group.
  double base_lr() const { return base_lrs_.front(); }
  /// The base lr of every bound group, in the order the groups were given.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The bound groups (empty for an unbound scheduler).
  const std::vector<Index>& groups() const { return groups_; }
  const Policy& policy() const { return policy_; }

  /// Sets the counter and base lr (checkpoint resume) of a single-group scheduler. The group's lr
  /// is not touched: it is part of the optimiser's own saved state.
  void restore(double base_lr, Index epoch) { restore(std::vector<double>{base_lr}, epoch); }

  /// The same with one base lr per bound group.
  void restore(const std::vector<double>& base_lrs, Index epoch) {
    require(epoch >= 0, "Scheduler::restore: the epoch must be >= 0, got ", epoch);
    require(base_lrs.size() == base_lrs_.size(), "Scheduler::restore: ", base_lrs.size(),
            " base lrs given, the scheduler drives ", base_lrs_.size(), " groups");
    for (double base_lr : base_lrs)
      require(std::isfinite(base_lr) && base_lr >= 0,
              "Scheduler::restore: base_lr must be finite and >= 0, got ", base_lr);
    base_lrs_ = base_lrs;
    epoch_ = epoch;
  }

 private:
  void apply_all() {
    if (!apply_) return;
    for (std::size_t k = 0; k < base_lrs_.size(); ++k)
      apply_(Index(k), policy_.lr(base_lrs_[k], epoch_));
  }

  Policy policy_;
  std::vector<Index> groups_;
  std::vector<double> base_lrs_;
  Index epoch_ = 0;
  std::function<void(Index, double)> apply_;
};

}  // namespace ccl::optim
