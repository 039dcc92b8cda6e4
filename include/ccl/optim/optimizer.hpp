#pragma once
// optim::Optimizer<Scalar, Update>: parameter groups, per-parameter state and the step loop shared
// by every optimiser; the arithmetic of one step is the Update policy's (SgdUpdate, AdamUpdate).
//
// A group is a set of parameters, collected from one or more modules, with its own
// hyper-parameters. The official CCL recipe needs two (method.md §5): the student's SGD group,
// whose learning rate a MultiStep schedule decays, and the composition heads' group, which keeps
// lr 1e-3 for all 300 epochs.
//
//   optim::Sgd<float> sgd;
//   sgd.add_group(optim::SgdOptions::official()).add("student", student);
//   sgd.add_group(optim::SgdOptions::official()).add("head_audio", head_a).add("head_image",
//   head_i);
//   ...  sgd.zero_grad();  forward/backward;  sgd.step();
//
// Weight decay off biases and normalisation parameters (the common practice for convolutional
// and transformer training) is one argument of the group, not a second group to build by hand:
//
//   sgd.add_group(optim::SgdOptions::official(), optim::WeightDecayOn::weights_only)
//      .add("student", student);    // conv/Linear weights decay; biases, BatchNorm γ/β do not
//
// The choice follows each parameter's ParameterRole (core/parameter.hpp), set by the layer that
// owns it. It is configuration, like the group structure, and is not stored in checkpoints.
//
// Every parameter is known by a key, "<prefix>.<parameter name>" (the name alone for an empty
// prefix). Keys are unique within an optimiser, and the state (step count, momentum buffer, Adam
// moments) is stored next to the key, so a checkpoint saves and restores it by name rather than
// by position.
//
// Update policy interface (see sgd.hpp for a complete one):
//   using Options = ...;                                  hyper-parameters of one group
//   static constexpr const char* name;                    "sgd", "adam" (checkpoint sections)
//   static constexpr const char* display_name;            "Sgd", "Adam" (error messages)
//   static constexpr std::array<const char*, N> buffers;  names of the per-parameter buffers
//   static void validate(const Options&, const char* op); throws ccl::error on a bad value
//   template <class S> static void apply(const Options&, Parameter<S>&, ParameterState<S>&);
// Options expose for_each_hyper_parameter(visit) with visit(const char*, double&) / (…, bool&),
// and a double member `lr`.
//
// Backends: Optimizer<Scalar, Update, Backend = ccl::cpu> is one class for every backend. The
// groups, keys, validation and step loop below are written once; what differs per backend is
// only where the state lives (ParameterState holds backend_matrix_t buffers: host matrices, or
// device matrices with <ccl/cuda/optim/optimizer.hpp>) and how one parameter is updated, which is
// Implementation<UpdateStep<Update>, Backend> (core/backend.hpp): Update::apply on the host, one
// fused kernel per policy on the device (<ccl/cuda/optim/sgd.hpp>, adam.hpp).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::optim {

/// Which parameters of a group the group's weight decay applies to.
enum class WeightDecayOn : std::uint8_t {
  all,           ///< every parameter (PyTorch's default)
  weights_only,  ///< ParameterRole::weight only; biases and normalisation parameters get none
};

/// What an optimiser remembers about one parameter. Buffers are named by the Update policy
/// (Update::buffers) and stay empty (0 x 0) until the first step fills them, as PyTorch creates
/// its state lazily. They live where the parameter lives (backend_matrix_t: RowMatrix on the
/// host, gpu::DeviceMatrix on CUDA).
template <class Scalar, class Backend = cpu>
struct ParameterState {
  std::int64_t step = 0;
  std::vector<backend_matrix_t<Scalar, Backend>> buffers;
};

/// The operation "update one parameter under policy Update", implemented per backend as
/// Implementation<UpdateStep<Update>, Backend>::run(options, parameter, state). The host
/// implementation is Update::apply (below); the device ones are in <ccl/cuda/optim/sgd.hpp> and
/// adam.hpp.
template <class Update>
struct UpdateStep {};

namespace detail {

inline std::string join_key(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

/// The options a parameter of role `role` is stepped with: the group's, with the weight decay
/// removed when the group decays weights only and this is not a weight.
template <class Options>
const Options& options_for(const Options& group_options, const Options& without_decay,
                           WeightDecayOn decay_on, ParameterRole role) {
  return decay_on == WeightDecayOn::weights_only && role != ParameterRole::weight ? without_decay
                                                                                  : group_options;
}

template <class Options>
Options without_weight_decay(Options options) {
  options.weight_decay = 0;
  return options;
}

}  // namespace detail

/// True when Module has `for_each_parameter(visit)` calling visit(Parameter<Scalar, Backend>&).
template <class Module, class Scalar, class Backend = cpu>
inline constexpr bool has_parameters_v = ccl::has_parameters_v<Module, Scalar, Backend>;

template <class Scalar, class Update, class Backend = cpu>
class Optimizer {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::optim::Optimizer<Scalar, Update, Backend>: Backend must be a backend tag "
                "(ccl::cpu or ccl::cuda); for ccl::cuda include <ccl/cuda/optim/optimizer.hpp> "
                "(or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using update_type = Update;
  using backend_type = Backend;
  using Options = typename Update::Options;
  using Param = Parameter<Scalar, Backend>;
  using State = ParameterState<Scalar, Backend>;
  /// The host optimiser with the same policy: what checkpoints read and write (copy_state_to,
  /// copy_state_from).
  using HostOptimizer = Optimizer<Scalar, Update, cpu>;

  struct Entry {
    std::string key;
    Param* parameter = nullptr;
    State state;
  };

  struct Group {
    Options options;
    std::vector<Entry> entries;
    WeightDecayOn decay_on = WeightDecayOn::all;
  };

  /// Returned by add_group: adds parameters to that group. Stays valid while the optimiser lives
  /// (it holds the group's index, not a pointer into the group list).
  class GroupBuilder {
   public:
    /// Adds every parameter of `module` under the key prefix `prefix`.
    template <class Module>
    GroupBuilder& add(const std::string& prefix, Module& module) {
      static_assert(has_parameters_v<Module, Scalar, Backend>,
                    "ccl::optim: the module must expose for_each_parameter(visit) with "
                    "visit(ccl::Parameter<Scalar, Backend>&), with the optimiser's Scalar and "
                    "Backend (a device module needs Sgd<Scalar, ccl::cuda>, a host one the "
                    "default ccl::cpu)");
      module.for_each_parameter([&](Param& p) {
        optimizer_->register_parameter(group_, detail::join_key(prefix, p.name), p);
      });
      return *this;
    }

    /// Adds one parameter under the key `key`.
    GroupBuilder& add_parameter(const std::string& key, Param& parameter) {
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
  // Entries point at the modules' parameters; copying an optimiser would silently share them.
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;

  /// Opens a new (empty) group with these hyper-parameters; fill it through the returned builder.
  /// `decay_on` = WeightDecayOn::weights_only exempts biases and normalisation parameters from
  /// the group's weight decay.
  GroupBuilder add_group(const Options& options, WeightDecayOn decay_on = WeightDecayOn::all) {
    Update::validate(options, op_name());
    groups_.push_back(Group{options, {}, decay_on});
    return GroupBuilder(this, Index(groups_.size()) - 1);
  }

  /// A builder for an existing group, to add more parameters to it later.
  GroupBuilder group(Index g) {
    check_group(g, "group");
    return GroupBuilder(this, g);
  }

  /// One update of every parameter of every group from its current gradient (Update::apply on
  /// the host; on the device one kernel per parameter, queued on the optimiser's execution stream
  /// without synchronising). Every parameter takes part, even one whose gradient is zero (weight
  /// decay and momentum still move it): leave frozen parameters out of the optimiser.
  void step() {
    for (Group& group : groups_) {
      const Options without_decay = detail::without_weight_decay(group.options);
      for (Entry& entry : group.entries) {
        Param& p = *entry.parameter;
        require(p.grad.rows() == p.value.rows() && p.grad.cols() == p.value.cols(), op_name(),
                "::step: parameter '", entry.key, "' has value [", p.value.rows(), ", ",
                p.value.cols(), "] but gradient [", p.grad.rows(), ", ", p.grad.cols(), "]");
        dispatch<UpdateStep<Update>>(
            Backend{}, detail::options_for(group.options, without_decay, group.decay_on, p.role), p,
            entry.state, execution_);
      }
    }
  }

  /// Sets every gradient of every group to zero.
  void zero_grad() {
    for (Group& group : groups_)
      for (Entry& entry : group.entries) entry.parameter->zero_grad(execution_);
  }

  /// The update kernels, gradient zeroing and state uploads run with `execution`
  /// (core/execution.hpp); give it the stream of the model it steps.
  void set_execution(const Execution<Backend>& execution) {
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

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

  /// The groups with their entries and state, for checkpoints and inspection.
  const std::vector<Group>& groups() const { return groups_; }
  std::vector<Group>& groups() { return groups_; }

  /// The entry with key `key`, or nullptr.
  const Entry* find(const std::string& key) const {
    for (const Group& group : groups_)
      for (const Entry& entry : group.entries)
        if (entry.key == key) return &entry;
    return nullptr;
  }

  static const char* op_name() { return Update::display_name; }

  /// Downloads the options and every parameter's state into `host`, an optimiser over host
  /// parameters with the same groups, keys and shapes (cuda/optim/checkpoint.hpp builds one to
  /// match a device optimiser). Buffers not created yet stay empty. Returns when the data are
  /// there.
  void copy_state_to(HostOptimizer& host) const {
    const auto matches = match(host, "copy_state_to");
    auto& host_groups = host.groups();
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      host_groups[g].options = groups_[g].options;
      for (std::size_t e = 0; e < groups_[g].entries.size(); ++e) {
        const State& source = groups_[g].entries[e].state;
        ParameterState<Scalar>& target = host_groups[g].entries[matches[g][e]].state;
        target.step = source.step;
        target.buffers.resize(source.buffers.size());
        for (std::size_t b = 0; b < source.buffers.size(); ++b) {
          if (source.buffers[b].rows() * source.buffers[b].cols() == 0) {
            target.buffers[b] = RowMatrix<Scalar>();
          } else {
            target.buffers[b] = host_copy(source.buffers[b]);
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
        State& target = groups_[g].entries[e].state;
        target.step = source.step;
        target.buffers.resize(source.buffers.size());
        for (std::size_t b = 0; b < source.buffers.size(); ++b) {
          if (source.buffers[b].size() == 0) {
            target.buffers[b] = backend_matrix_t<Scalar, Backend>();
          } else {
            assign(target.buffers[b], ccl::view(source.buffers[b]), execution_);
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

  // For each entry, the index of the host entry with the same key and shape.
  std::vector<std::vector<std::size_t>> match(const HostOptimizer& host, const char* what) const {
    const auto& host_groups = host.groups();
    require(host_groups.size() == groups_.size(), op_name(), "::", what,
            ": the host optimiser has ", host_groups.size(), " groups, this one ", groups_.size());
    std::vector<std::vector<std::size_t>> matches(groups_.size());
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      std::map<std::string, std::size_t> index;
      for (std::size_t e = 0; e < host_groups[g].entries.size(); ++e)
        index[host_groups[g].entries[e].key] = e;
      require(index.size() == groups_[g].entries.size(), op_name(), "::", what, ": group ", g,
              " has ", host_groups[g].entries.size(), " parameters on the host, ",
              groups_[g].entries.size(), " here");
      for (const Entry& entry : groups_[g].entries) {
        const auto found = index.find(entry.key);
        require(found != index.end(), op_name(), "::", what, ": parameter '", entry.key,
                "' of group ", g, " is not in the host optimiser's group");
        const Parameter<Scalar>& twin = *host_groups[g].entries[found->second].parameter;
        require(twin.rows() == entry.parameter->rows() && twin.cols() == entry.parameter->cols(),
                op_name(), "::", what, ": parameter '", entry.key, "' is [", twin.rows(), ", ",
                twin.cols(), "] on the host but [", entry.parameter->rows(), ", ",
                entry.parameter->cols(), "] here");
        matches[g].push_back(found->second);
      }
    }
    return matches;
  }

  void register_parameter(Index g, const std::string& key, Param& p) {
    check_group(g, "add");
    require(!key.empty(), op_name(), "::add: a parameter needs a non-empty key");
    require(keys_.insert(key).second, op_name(), "::add: the key '", key,
            "' is already taken; give each module a distinct prefix");
    // PyTorch's rule: a parameter updated by two groups would be stepped twice per step.
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
  Execution<Backend> execution_;
  std::set<std::string> keys_;
  std::set<const void*> addresses_;
};

}  // namespace ccl::optim

namespace ccl {

/// The host update of one parameter: the policy's own arithmetic.
template <class Update>
struct Implementation<optim::UpdateStep<Update>, cpu> {
  template <class Scalar>
  static void run(const typename Update::Options& options, Parameter<Scalar>& parameter,
                  optim::ParameterState<Scalar>& state, const Execution<cpu>& /*execution*/) {
    Update::apply(options, parameter, state);
  }
};

}  // namespace ccl
