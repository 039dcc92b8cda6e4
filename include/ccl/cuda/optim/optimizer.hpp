#pragma once
// optim::Optimizer<Scalar, Update, ccl::cuda>: the groups, keys, state and step loop of
// optim/optimizer.hpp for Parameter<Scalar, ccl::cuda>, with the state (momentum buffer, Adam
// moments) in device memory. The arithmetic of a step is the Update policy's, run as one fused
// elementwise kernel per parameter by DeviceUpdate<Update> (cuda/optim/sgd.hpp, adam.hpp).
//
//   optim::Sgd<float, ccl::cuda> sgd;
//   sgd.add_group(optim::SgdOptions::official()).add("head_audio", head_a);   // device modules
//   ...  sgd.zero_grad();  forward/backward on the device;  sgd.step();
//
// Interface: the CPU optimiser's (add_group/group/add/add_parameter, step, zero_grad, lr/set_lr,
// options/set_options, groups, find), plus the state's way to and from the host, for checkpoints
// and inspection: copy_state_to / copy_state_from an Optimizer<Scalar, Update> over host
// parameters with the same groups and keys (cuda/optim/checkpoint.hpp builds one and plugs the
// device optimiser into io::write_optimizer / io::stage_optimizer). step() only queues kernels on
// gpu::settings().stream; it does not synchronise.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/settings.hpp>
#include <ccl/optim/optimizer.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ccl::optim {

/// What the device optimiser remembers about one parameter: the host ParameterState with its
/// buffers in device memory (empty, 0 x 0, until the first step fills them, as on the CPU).
template <class Scalar>
struct ParameterState<Scalar, cuda> {
  std::int64_t step = 0;
  std::vector<gpu::DeviceMatrix<Scalar>> buffers;
};

/// How an Update policy runs on the device: specialised next to each policy's device kernel.
template <class Update>
struct DeviceUpdate {
  static_assert(ccl::detail::dependent_false<Update>,
                "ccl::optim: this update policy has no device implementation; include "
                "<ccl/cuda/optim/sgd.hpp> or <ccl/cuda/optim/adam.hpp> (or <ccl/cuda.hpp>)");
};

template <class Scalar, class Update>
class Optimizer<Scalar, Update, cuda> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);

 public:
  using scalar_type = Scalar;
  using update_type = Update;
  using backend_type = cuda;
  using Options = typename Update::Options;
  using HostOptimizer = Optimizer<Scalar, Update, cpu>;

  struct Entry {
    std::string key;
    Parameter<Scalar, cuda>* parameter = nullptr;
    ParameterState<Scalar, cuda> state;
  };

  struct Group {
    Options options;
    std::vector<Entry> entries;
    WeightDecayOn decay_on = WeightDecayOn::all;
  };

  class GroupBuilder {
   public:
    /// Adds every parameter of `module` (a device module) under the key prefix `prefix`.
    template <class Module>
    GroupBuilder& add(const std::string& prefix, Module& module) {
      module.for_each_parameter([&](Parameter<Scalar, cuda>& p) {
        optimizer_->register_parameter(group_, optim::detail::join_key(prefix, p.name), p);
      });
      return *this;
    }

    GroupBuilder& add_parameter(const std::string& key, Parameter<Scalar, cuda>& parameter) {
      optimizer_->register_parameter(group_, key, parameter);
      return *this;
    }

    Index index() const { return group_; }

   private:
    friend class Optimizer;
    GroupBuilder(Optimizer* optimizer, Index group) : optimizer_(optimizer), group_(group) {}
    Optimizer* optimizer_;
    Index group_;
  };

  Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;

  GroupBuilder add_group(const Options& options, WeightDecayOn decay_on = WeightDecayOn::all) {
    Update::validate(options, op_name());
    groups_.push_back(Group{options, {}, decay_on});
    return GroupBuilder(this, Index(groups_.size()) - 1);
  }

  GroupBuilder group(Index g) {
    check_group(g, "group");
    return GroupBuilder(this, g);
  }

  /// One update of every parameter of every group: one kernel per parameter, queued on the
  /// settings' stream. As on the CPU, every parameter takes part, even with a zero gradient.
  void step() {
    const cudaStream_t stream = gpu::settings().stream;
    for (Group& group : groups_) {
      const Options without_decay = optim::detail::without_weight_decay(group.options);
      for (Entry& entry : group.entries) {
        Parameter<Scalar, cuda>& p = *entry.parameter;
        require(p.grad.rows() == p.value.rows() && p.grad.cols() == p.value.cols(), op_name(),
                "::step: parameter '", entry.key, "' has value [", p.value.rows(), ", ",
                p.value.cols(), "] but gradient [", p.grad.rows(), ", ", p.grad.cols(), "]");
        DeviceUpdate<Update>::apply(
            optim::detail::options_for(group.options, without_decay, group.decay_on, p.role), p,
            entry.state, stream);
      }
    }
  }

  void zero_grad() {
    for (Group& group : groups_)
      for (Entry& entry : group.entries) entry.parameter->zero_grad();
  }

  Index group_count() const { return Index(groups_.size()); }
  Index parameter_count() const {
    Index n = 0;
    for (const Group& group : groups_) n += Index(group.entries.size());
    return n;
  }

  double lr(Index g) const {
    check_group(g, "lr");
    return groups_[std::size_t(g)].options.lr;
  }
  void set_lr(Index g, double lr) {
    check_group(g, "set_lr");
    Options options = groups_[std::size_t(g)].options;
    options.lr = lr;
    Update::validate(options, op_name());
    groups_[std::size_t(g)].options = options;
  }

  const Options& options(Index g) const {
    check_group(g, "options");
    return groups_[std::size_t(g)].options;
  }
  WeightDecayOn weight_decay_on(Index g) const {
    check_group(g, "weight_decay_on");
    return groups_[std::size_t(g)].decay_on;
  }
  void set_options(Index g, const Options& options) {
    check_group(g, "set_options");
    Update::validate(options, op_name());
    groups_[std::size_t(g)].options = options;
  }

  const std::vector<Group>& groups() const { return groups_; }
  std::vector<Group>& groups() { return groups_; }

  const Entry* find(const std::string& key) const {
    for (const Group& group : groups_)
      for (const Entry& entry : group.entries)
        if (entry.key == key) return &entry;
    return nullptr;
  }

  static const char* op_name() { return Update::display_name; }

  /// Downloads the options and every parameter's state into `host`, an optimiser over host
  /// parameters with the same groups, keys and shapes (see cuda/optim/checkpoint.hpp for one
  /// built to match). Buffers not created yet stay empty. Returns when the data are there.
  void copy_state_to(HostOptimizer& host) const {
    const auto matches = match(host, "copy_state_to");
    auto& host_groups = host.groups();
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      host_groups[g].options = groups_[g].options;
      for (std::size_t e = 0; e < groups_[g].entries.size(); ++e) {
        const ParameterState<Scalar, cuda>& source = groups_[g].entries[e].state;
        ParameterState<Scalar>& target = host_groups[g].entries[matches[g][e]].state;
        target.step = source.step;
        target.buffers.resize(source.buffers.size());
        for (std::size_t b = 0; b < source.buffers.size(); ++b) {
          if (source.buffers[b].rows() * source.buffers[b].cols() == 0) {
            target.buffers[b] = RowMatrix<Scalar>();
          } else {
            target.buffers[b] = gpu::to_host(source.buffers[b]);
          }
        }
      }
    }
  }

  /// Uploads options and state from `host` (same groups, keys and shapes). Everything is checked
  /// before anything changes; a buffer must be empty or shaped like its parameter.
  void copy_state_from(const HostOptimizer& host) {
    constexpr const char* what = "copy_state_from";
    const auto matches = match(host, what);
    const auto& host_groups = host.groups();
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      Update::validate(host_groups[g].options, op_name());
      for (std::size_t e = 0; e < groups_[g].entries.size(); ++e) {
        const Entry& entry = groups_[g].entries[e];
        const ParameterState<Scalar>& source = host_groups[g].entries[matches[g][e]].state;
        require(source.buffers.size() == Update::buffers.size(), op_name(), "::", what,
                ": parameter '", entry.key, "' has ", source.buffers.size(), " state buffers, ",
                Update::display_name, " keeps ", Update::buffers.size());
        require(source.step >= 0, op_name(), "::", what, ": parameter '", entry.key,
                "' has step count ", source.step);
        for (const RowMatrix<Scalar>& buffer : source.buffers) {
          require(buffer.size() == 0 || (buffer.rows() == entry.parameter->rows() &&
                                         buffer.cols() == entry.parameter->cols()),
                  op_name(), "::", what, ": a state buffer of '", entry.key, "' has shape [",
                  buffer.rows(), ", ", buffer.cols(), "], expected [", entry.parameter->rows(),
                  ", ", entry.parameter->cols(), "] or empty");
        }
      }
    }
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      groups_[g].options = host_groups[g].options;
      for (std::size_t e = 0; e < groups_[g].entries.size(); ++e) {
        const ParameterState<Scalar>& source = host_groups[g].entries[matches[g][e]].state;
        ParameterState<Scalar, cuda>& target = groups_[g].entries[e].state;
        target.step = source.step;
        target.buffers.resize(source.buffers.size());
        for (std::size_t b = 0; b < source.buffers.size(); ++b) {
          if (source.buffers[b].size() == 0) {
            target.buffers[b] = gpu::DeviceMatrix<Scalar>();
          } else {
            target.buffers[b].resize(source.buffers[b].rows(), source.buffers[b].cols());
            gpu::copy<Scalar>(ccl::view(source.buffers[b]), target.buffers[b].mutable_view());
          }
        }
      }
    }
  }

 private:
  void check_group(Index g, const char* what) const {
    require(g >= 0 && g < group_count(), op_name(), "::", what, ": group ", g,
            " does not exist (the optimiser has ", group_count(), " groups)");
  }

  // For each device entry, the index of the host entry with the same key and shape.
  std::vector<std::vector<std::size_t>> match(const HostOptimizer& host, const char* what) const {
    const auto& host_groups = host.groups();
    require(host_groups.size() == groups_.size(), op_name(), "::", what,
            ": the host optimiser has ", host_groups.size(), " groups, the device one ",
            groups_.size());
    std::vector<std::vector<std::size_t>> matches(groups_.size());
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      std::map<std::string, std::size_t> index;
      for (std::size_t e = 0; e < host_groups[g].entries.size(); ++e)
        index[host_groups[g].entries[e].key] = e;
      require(index.size() == groups_[g].entries.size(), op_name(), "::", what, ": group ", g,
              " has ", host_groups[g].entries.size(), " parameters on the host, ",
              groups_[g].entries.size(), " on the device");
      for (const Entry& entry : groups_[g].entries) {
        const auto found = index.find(entry.key);
        require(found != index.end(), op_name(), "::", what, ": parameter '", entry.key,
                "' of group ", g, " is not in the host optimiser's group");
        const Parameter<Scalar>& twin = *host_groups[g].entries[found->second].parameter;
        require(twin.value.rows() == entry.parameter->rows() &&
                    twin.value.cols() == entry.parameter->cols(),
                op_name(), "::", what, ": parameter '", entry.key, "' is [", twin.value.rows(),
                ", ", twin.value.cols(), "] on the host but [", entry.parameter->rows(), ", ",
                entry.parameter->cols(), "] on the device");
        matches[g].push_back(found->second);
      }
    }
    return matches;
  }

  void register_parameter(Index g, const std::string& key, Parameter<Scalar, cuda>& p) {
    check_group(g, "add");
    require(!key.empty(), op_name(), "::add: a parameter needs a non-empty key");
    require(keys_.insert(key).second, op_name(), "::add: the key '", key,
            "' is already taken; give each module a distinct prefix");
    require(addresses_.insert(&p).second, op_name(), "::add: parameter '", key,
            "' is already in this optimiser under another key (each parameter belongs to one "
            "group)");
    Entry entry;
    entry.key = key;
    entry.parameter = &p;
    entry.state.buffers.resize(Update::buffers.size());
    groups_[std::size_t(g)].entries.push_back(std::move(entry));
  }

  std::vector<Group> groups_;
  std::set<std::string> keys_;
  std::set<const void*> addresses_;
};

}  // namespace ccl::optim
