#pragma once
// The body of each checkpoint section kind: how a module's parameters, an optimiser, a schedule,
// an Rng and a counter are written, and how they are read back in two phases.
//
// Reading is split so that a failed load changes nothing: stage_*() parses a section and checks it
// against the live object (names, shapes, element types, kinds, settings) and returns a `Commit`
// that only moves the already-decoded values in. Checkpoint::load stages every section first and
// commits only when all of them passed.

#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/io/byte_stream.hpp>
#include <ccl/optim/optimizer.hpp>
#include <ccl/optim/scheduler.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::io {

using Commit = std::function<void()>;

namespace detail {

inline std::string shape_text(Index rows, Index cols) {
  return ccl::detail::concat("[", rows, ", ", cols, "]");
}

template <class Scalar>
void check_tensor(const RawTensor& t, const std::string& context, const std::string& what,
                  Index rows, Index cols, bool allow_empty = false) {
  require(t.dtype == std::uint8_t(dtype_of<Scalar>()), context, ": ", what, " is ",
          dtype_name(t.dtype), " in the checkpoint but ",
          dtype_name(std::uint8_t(dtype_of<Scalar>())), " in the live object");
  const bool empty = t.rows == 0 && t.cols == 0;
  require(
      (allow_empty && empty) || (t.rows == std::uint64_t(rows) && t.cols == std::uint64_t(cols)),
      context, ": ", what, " has shape ", t.shape(), " in the checkpoint but ",
      shape_text(rows, cols), " in the live object");
}

inline std::string list_text(const std::vector<double>& values) {
  std::ostringstream out;
  out.precision(17);
  out << "[";
  for (std::size_t k = 0; k < values.size(); ++k) out << (k ? ", " : "") << values[k];
  out << "]";
  return out.str();
}

}  // namespace detail

// ---- module: its parameters, then its buffers
// ---------------------------------------------------- Each list: u64 count, then per tensor: name,
// tensor. Buffers are the non-trainable state a module exposes through for_each_buffer(visit(name,
// RowMatrix&)) (BatchNorm's running statistics): a resumed run needs them as much as the weights.
// Modules without buffers write an empty list.

namespace detail {

// Any matrix type: host modules visit RowMatrix buffers, device modules gpu::DeviceMatrix ones.
struct BufferProbe {
  template <class Matrix>
  void operator()(const std::string&, Matrix&) const {}
};

// Parameters and buffers are stored from and restored into host matrices through host_copy /
// restore_from_host / zero_elements (core/backend_matrix.hpp; the device overloads are found by
// argument-dependent lookup), so a device module is checkpointed through one copy per tensor.

template <class Module, class = void>
struct has_buffers : std::false_type {};
template <class Module>
struct has_buffers<Module,
                   std::void_t<decltype(std::declval<Module&>().for_each_buffer(BufferProbe{}))>>
    : std::true_type {};

// Calls f(name, value, grad) for every parameter (grad = &p.grad) or buffer (grad = nullptr).
template <class Module, class F>
void for_each_tensor(Module& module, bool parameters, F&& f) {
  if (parameters) {
    module.for_each_parameter([&](auto& p) { f(p.name, p.value, &p.grad); });
  } else if constexpr (has_buffers<Module>::value) {
    module.for_each_buffer([&](const std::string& name, auto& value) {
      f(name, value, static_cast<std::decay_t<decltype(value)>*>(nullptr));
    });
  }
}

template <class Module>
void write_tensor_list(ByteWriter& out, Module& module, bool parameters) {
  // Names are the keys a load matches by: refuse to write a file that could not be loaded.
  std::set<std::string> names;
  for_each_tensor(module, parameters, [&](const std::string& name, auto&, auto*) {
    require(names.insert(name).second, "save_checkpoint: the module has two ",
            parameters ? "parameters" : "buffers", " named '", name,
            "'; give its sub-modules distinct prefixes");
  });
  out.u64(std::uint64_t(names.size()));
  for_each_tensor(module, parameters, [&](const std::string& name, auto& value, auto*) {
    out.string(name);
    out.tensor(host_copy(value));
  });
}

template <class Module>
void stage_tensor_list(ByteReader& in, Module& module, bool parameters,
                       std::vector<Commit>& commits) {
  const std::string& context = in.context();
  const char* what = parameters ? "parameter" : "buffer";
  const std::uint64_t count = in.u64(parameters ? "the parameter count" : "the buffer count");
  std::map<std::string, RawTensor> stored;
  for (std::uint64_t k = 0; k < count; ++k) {
    std::string name = in.string(parameters ? "a parameter name" : "a buffer name");
    RawTensor tensor = in.tensor(parameters ? "a parameter tensor" : "a buffer tensor");
    require(stored.emplace(name, tensor).second, context, ": ", what, " '", name,
            "' appears twice in the checkpoint");
  }
  std::set<std::string> seen;
  for_each_tensor(module, parameters, [&](const std::string& name, auto& value, auto* grad) {
    using Scalar = typename std::decay_t<decltype(value)>::Scalar;
    require(seen.insert(name).second, context, ": the live module has two ", what, "s named '",
            name, "'");
    const auto found = stored.find(name);
    require(found != stored.end(), context, ": ", what, " '", name, "' (shape ",
            shape_text(value.rows(), value.cols()),
            ") of the live model is not in the checkpoint (different architecture?)");
    check_tensor<Scalar>(found->second, context, std::string(what) + " '" + name + "'",
                         value.rows(), value.cols());
    auto decoded = std::make_shared<RowMatrix<Scalar>>(found->second.template to_matrix<Scalar>());
    auto* target = &value;
    commits.push_back([target, grad, decoded] {
      restore_from_host(*target, *decoded);
      // Gradients are not saved: a resumed step starts from zero like a fresh one.
      if (grad != nullptr) restore_zeros(*grad);
    });
  });
  for (const auto& entry : stored) {
    require(seen.count(entry.first) == 1, context, ": the checkpoint has ", what, " '", entry.first,
            "' (shape ", entry.second.shape(),
            ") that the live model does not have (different architecture?)");
  }
}

}  // namespace detail

template <class Module>
void write_module(ByteWriter& out, Module& module) {
  detail::write_tensor_list(out, module, /*parameters=*/true);
  detail::write_tensor_list(out, module, /*parameters=*/false);
}

template <class Module>
Commit stage_module(ByteReader& in, Module& module) {
  std::vector<Commit> commits;
  detail::stage_tensor_list(in, module, /*parameters=*/true, commits);
  detail::stage_tensor_list(in, module, /*parameters=*/false, commits);
  in.expect_end();
  return [commits = std::move(commits)] {
    for (const Commit& commit : commits) commit();
  };
}

// ---- optimiser: kind, then per group: hyper-parameters and per-parameter state -----------------

template <class Scalar, class Update>
void write_optimizer(ByteWriter& out, optim::Optimizer<Scalar, Update>& optimizer) {
  out.string(Update::name);
  out.u64(std::uint64_t(optimizer.groups().size()));
  for (auto& group : optimizer.groups()) {
    typename Update::Options options = group.options;
    std::uint64_t count = 0;
    options.for_each_hyper_parameter([&](const char*, auto&) { ++count; });
    out.u64(count);
    options.for_each_hyper_parameter([&](const char* name, auto& value) {
      out.string(name);
      out.f64(double(value));
    });
    out.u64(std::uint64_t(group.entries.size()));
    for (const auto& entry : group.entries) {
      out.string(entry.key);
      out.u64(std::uint64_t(entry.parameter->value.rows()));
      out.u64(std::uint64_t(entry.parameter->value.cols()));
      out.i64(entry.state.step);
      out.u64(std::uint64_t(entry.state.buffers.size()));
      for (std::size_t b = 0; b < entry.state.buffers.size(); ++b) {
        out.string(Update::buffers[b]);
        out.tensor(entry.state.buffers[b]);
      }
    }
  }
}

template <class Scalar, class Update>
Commit stage_optimizer(ByteReader& in, optim::Optimizer<Scalar, Update>& optimizer) {
  using Options = typename Update::Options;
  const std::string& context = in.context();
  auto& live = optimizer.groups();
  const std::string kind = in.string("the optimiser kind");
  require(kind == Update::name, context, ": the checkpoint holds a '", kind,
          "' optimiser but the live one is '", Update::name, "'");
  const std::uint64_t group_count = in.u64("the group count");
  require(group_count == live.size(), context, ": the checkpoint has ", group_count,
          " parameter groups but the live optimiser has ", live.size());

  struct StagedGroup {
    Options options;
    std::vector<std::pair<std::size_t, optim::ParameterState<Scalar>>> states;  // live index, state
  };
  auto staged = std::make_shared<std::vector<StagedGroup>>(live.size());
  for (std::size_t g = 0; g < live.size(); ++g) {
    const std::string group_context = ccl::detail::concat(context, ", group ", g);
    std::map<std::string, double> hyper;
    const std::uint64_t hyper_count = in.u64("the hyper-parameter count");
    for (std::uint64_t k = 0; k < hyper_count; ++k) {
      std::string name = in.string("a hyper-parameter name");
      hyper[name] = in.f64("a hyper-parameter value");
    }
    Options options = live[g].options;
    std::uint64_t known = 0;
    options.for_each_hyper_parameter([&](const char* name, auto& value) {
      const auto found = hyper.find(name);
      require(found != hyper.end(), group_context, ": hyper-parameter '", name,
              "' is not in the checkpoint");
      ++known;
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>) {
        require(found->second == 0.0 || found->second == 1.0, group_context, ": '", name,
                "' must be 0 or 1, got ", found->second);
        value = found->second == 1.0;
      } else {
        value = found->second;
      }
    });
    require(known == hyper.size(), group_context, ": the checkpoint has ", hyper.size(),
            " hyper-parameters, the live ", Update::display_name, " has ", known);
    Update::validate(options, group_context.c_str());
    (*staged)[g].options = options;

    std::map<std::string, std::size_t> index;
    for (std::size_t e = 0; e < live[g].entries.size(); ++e) index[live[g].entries[e].key] = e;
    const std::uint64_t entry_count = in.u64("the parameter count of a group");
    require(entry_count == live[g].entries.size(), group_context, ": the checkpoint has ",
            entry_count, " parameters in this group but the live optimiser has ",
            live[g].entries.size());
    std::set<std::size_t> filled;
    for (std::uint64_t e = 0; e < entry_count; ++e) {
      const std::string key = in.string("a parameter key");
      const auto found = index.find(key);
      require(found != index.end(), group_context, ": the checkpoint has state for parameter '",
              key, "' that is not in the live optimiser's group");
      require(filled.insert(found->second).second, group_context, ": parameter '", key,
              "' appears twice");
      const Parameter<Scalar>& p = *live[g].entries[found->second].parameter;
      const std::uint64_t rows = in.u64("a parameter shape");
      const std::uint64_t cols = in.u64("a parameter shape");
      require(rows == std::uint64_t(p.value.rows()) && cols == std::uint64_t(p.value.cols()),
              group_context, ": parameter '", key, "' has shape [", rows, ", ", cols,
              "] in the checkpoint but ", detail::shape_text(p.value.rows(), p.value.cols()),
              " in the live model");
      optim::ParameterState<Scalar> state;
      state.step = in.i64("a step count");
      require(state.step >= 0, group_context, ": parameter '", key, "' has step count ",
              state.step);
      const std::uint64_t buffer_count = in.u64("a buffer count");
      require(buffer_count == Update::buffers.size(), group_context, ": parameter '", key, "' has ",
              buffer_count, " state buffers, ", Update::display_name, " keeps ",
              Update::buffers.size());
      for (std::size_t b = 0; b < Update::buffers.size(); ++b) {
        const std::string name = in.string("a buffer name");
        require(name == Update::buffers[b], group_context, ": parameter '", key, "' has buffer '",
                name, "' where '", Update::buffers[b], "' was expected");
        const RawTensor t = in.tensor("a state buffer");
        detail::check_tensor<Scalar>(t, group_context, "buffer '" + name + "' of '" + key + "'",
                                     p.value.rows(), p.value.cols(), /*allow_empty=*/true);
        state.buffers.push_back(t.template to_matrix<Scalar>());
      }
      (*staged)[g].states.emplace_back(found->second, std::move(state));
    }
  }
  in.expect_end();
  return [staged, &optimizer] {
    auto& groups = optimizer.groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      groups[g].options = (*staged)[g].options;
      for (auto& [e, state] : (*staged)[g].states) groups[g].entries[e].state = std::move(state);
    }
  };
}

// ---- scheduler: policy name, settings, base lr, epoch ------------------------------------------

template <class Policy>
void write_scheduler(ByteWriter& out, const optim::Scheduler<Policy>& scheduler) {
  out.string(Policy::name);
  const std::vector<double> config = scheduler.policy().config();
  out.u64(std::uint64_t(config.size()));
  for (double v : config) out.f64(v);
  out.f64(scheduler.base_lr());
  out.i64(std::int64_t(scheduler.epoch()));
  // A scheduler driving several groups appends the other groups' base lrs; a single-group one
  // writes nothing more, so its sections read as before.
  const std::vector<double>& base_lrs = scheduler.base_lrs();
  if (base_lrs.size() > 1) {
    out.u64(std::uint64_t(base_lrs.size() - 1));
    for (std::size_t k = 1; k < base_lrs.size(); ++k) out.f64(base_lrs[k]);
  }
}

template <class Policy>
Commit stage_scheduler(ByteReader& in, optim::Scheduler<Policy>& scheduler) {
  const std::string& context = in.context();
  const std::string kind = in.string("the schedule kind");
  require(kind == Policy::name, context, ": the checkpoint holds a '", kind,
          "' schedule but the live one is '", Policy::name, "'");
  const std::uint64_t count = in.u64("the schedule setting count");
  require(count <= in.remaining() / 8, context, ": truncated schedule settings");
  std::vector<double> config(static_cast<std::size_t>(count));
  for (double& v : config) v = in.f64("a schedule setting");
  const std::vector<double> live = scheduler.policy().config();
  require(config == live, context, ": the checkpoint's ", kind, " schedule has settings ",
          detail::list_text(config), " but the live one has ", detail::list_text(live));
  std::vector<double> base_lrs{in.f64("the base lr")};
  const std::int64_t epoch = in.i64("the epoch");
  if (in.remaining() > 0) {
    const std::uint64_t more = in.u64("the count of further base lrs");
    require(more <= in.remaining() / 8, context, ": truncated base lrs");
    for (std::uint64_t k = 0; k < more; ++k) base_lrs.push_back(in.f64("a base lr"));
  }
  in.expect_end();
  require(base_lrs.size() == scheduler.base_lrs().size(), context,
          ": the checkpoint's schedule drives ", base_lrs.size(),
          " groups but the live one drives ", scheduler.base_lrs().size());
  for (double base_lr : base_lrs)
    require(std::isfinite(base_lr) && base_lr >= 0, context, ": invalid base lr ", base_lr);
  require(epoch >= 0, context, ": invalid epoch ", epoch);
  return [&scheduler, base_lrs, epoch] { scheduler.restore(base_lrs, Index(epoch)); };
}

// ---- Rng: its state text; counter: one i64 ------------------------------------------------------

inline void write_rng(ByteWriter& out, const Rng& rng) { out.string(rng.state()); }

inline Commit stage_rng(ByteReader& in, Rng& rng) {
  const std::string text = in.string("the rng state");
  in.expect_end();
  auto restored = std::make_shared<Rng>();
  try {
    restored->set_state(text);
  } catch (const error&) {
    throw error(ccl::detail::concat(in.context(), ": the saved generator state is corrupt"));
  }
  return [&rng, restored] { rng = *restored; };
}

template <class Integer>
void write_counter(ByteWriter& out, const Integer& counter) {
  out.i64(static_cast<std::int64_t>(counter));
}

template <class Integer>
Commit stage_counter(ByteReader& in, Integer& counter) {
  const std::int64_t value = in.i64("the counter value");
  in.expect_end();
  const bool fits =
      value < 0 ? value >= std::int64_t(std::numeric_limits<Integer>::min())
                : std::uint64_t(value) <= std::uint64_t(std::numeric_limits<Integer>::max());
  require(fits, in.context(), ": value ", value, " does not fit the live counter's type");
  return [&counter, value] { counter = static_cast<Integer>(value); };
}

// ---- value: one f64 -----------------------------------------------------------------------------

inline void write_value(ByteWriter& out, double value) { out.f64(value); }

inline Commit stage_value(ByteReader& in, double& value) {
  const double saved = in.f64("the value");
  in.expect_end();
  // A score may legitimately be -inf (nothing selected yet), never NaN: NaN means a corrupt file.
  require(!std::isnan(saved), in.context(), ": the saved value is NaN");
  return [&value, saved] { value = saved; };
}

}  // namespace ccl::io
