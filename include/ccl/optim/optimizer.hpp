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
// Backends: Optimizer<Scalar, Update, Backend = ccl::cpu>. This primary template steps host
// Parameter<Scalar>s; Optimizer<Scalar, Update, ccl::cuda> (<ccl/cuda/optim/optimizer.hpp>) steps
// Parameter<Scalar, ccl::cuda>s with one fused kernel per parameter and the same rules, groups,
// keys and state, the state in device memory.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>

#include <cstddef>
#include <cstdint>
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
/// its state lazily.
template <class Scalar, class Backend = cpu>
struct ParameterState {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::optim::ParameterState<Scalar, ccl::cuda> lives in "
                "<ccl/cuda/optim/optimizer.hpp>; include it (or <ccl/cuda.hpp>)");
  std::int64_t step = 0;
  std::vector<RowMatrix<Scalar>> buffers;
};

namespace detail {

template <class Scalar>
struct ParameterProbe {
  void operator()(Parameter<Scalar>&) const {}
};

template <class Module, class Scalar, class = void>
struct has_parameters : std::false_type {};

template <class Module, class Scalar>
struct has_parameters<Module, Scalar,
                      std::void_t<decltype(std::declval<Module&>().for_each_parameter(
                          std::declval<ParameterProbe<Scalar>>()))>> : std::true_type {};

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

/// True when Module has `for_each_parameter(visit)` calling visit(Parameter<Scalar>&).
template <class Module, class Scalar>
inline constexpr bool has_parameters_v = detail::has_parameters<Module, Scalar>::value;

template <class Scalar, class Update, class Backend = cpu>
class Optimizer {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::optim::Optimizer<Scalar, Update, ccl::cuda> (Sgd<Scalar, ccl::cuda>, "
                "Adam<Scalar, ccl::cuda>) lives in <ccl/cuda/optim/optimizer.hpp>; include it (or "
                "<ccl/cuda.hpp>) to step device parameters");

 public:
  using scalar_type = Scalar;
  using update_type = Update;
  using backend_type = Backend;
  using Options = typename Update::Options;

  struct Entry {
    std::string key;
    Parameter<Scalar>* parameter = nullptr;
    ParameterState<Scalar> state;
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
      static_assert(has_parameters_v<Module, Scalar>,
                    "ccl::optim: the module must expose for_each_parameter(visit) with "
                    "visit(ccl::Parameter<Scalar>&), with the optimiser's Scalar");
      module.for_each_parameter([&](Parameter<Scalar>& p) {
        optimizer_->register_parameter(group_, detail::join_key(prefix, p.name), p);
      });
      return *this;
    }

    /// Adds one parameter under the key `key`.
    GroupBuilder& add_parameter(const std::string& key, Parameter<Scalar>& parameter) {
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

  /// One update of every parameter of every group from its current gradient (Update::apply).
  /// Every parameter takes part, even one whose gradient is zero (weight decay and momentum
  /// still move it): leave frozen parameters out of the optimiser.
  void step() {
    for (Group& group : groups_) {
      const Options without_decay = detail::without_weight_decay(group.options);
      for (Entry& entry : group.entries) {
        Parameter<Scalar>& p = *entry.parameter;
        require(p.grad.rows() == p.value.rows() && p.grad.cols() == p.value.cols(), op_name(),
                "::step: parameter '", entry.key, "' has value [", p.value.rows(), ", ",
                p.value.cols(), "] but gradient [", p.grad.rows(), ", ", p.grad.cols(), "]");
        Update::apply(detail::options_for(group.options, without_decay, group.decay_on, p.role), p,
                      entry.state);
      }
    }
  }

  /// Sets every gradient of every group to zero.
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

 private:
  void check_group(Index g, const char* what) const {
    require(g >= 0 && g < group_count(), op_name(), "::", what, ": group ", g,
            " does not exist (the optimiser has ", group_count(), " groups)");
  }

  void register_parameter(Index g, const std::string& key, Parameter<Scalar>& p) {
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
  std::set<std::string> keys_;
  std::set<const void*> addresses_;
};

}  // namespace ccl::optim
