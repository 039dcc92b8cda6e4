#pragma once
// io::Checkpoint: saves and restores everything a training run needs to continue bit-identically
// — the parameters of every module, the optimisers' hyper-parameters and state (momentum buffers,
// Adam moments, step counts), the learning-rate schedules, the random generators and the
// epoch/step counters — in one versioned, checksummed file written atomically.
//
//   io::Checkpoint checkpoint;
//   checkpoint.add_module("student", student).add_module("head_audio", head_a)
//             .add_optimizer("sgd", sgd).add_scheduler("schedule", schedule)
//             .add_rng("rng", rng).add_counter("epoch", epoch).add_value("best", best);
//   checkpoint.save("run/last.ckpt");    // atomic: the old file survives any failure
//   checkpoint.load("run/last.ckpt");    // all or nothing
//
// A Checkpoint holds references to the live objects (bind once, save/load many times); they must
// outlive it. Every binding has a unique name, which becomes its section's name in the file.
//
// load() reads and validates the whole file before it changes anything: magic, format version,
// size, CRC-32, then every section against its live object (parameter names and shapes, element
// type, optimiser kind and groups, schedule settings). Any difference is a ccl::error that names
// it, and the live objects are left exactly as they were. Only then are the decoded values moved
// in. Parameter gradients are not saved; load() sets them to zero.
//
// save() serialises into memory first (so a failure there never touches the disk) and then
// replaces the file atomically (atomic_file.hpp). The format is in docs/checkpoints.md.

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/io/atomic_file.hpp>
#include <ccl/io/byte_stream.hpp>
#include <ccl/io/checkpoint_format.hpp>
#include <ccl/io/checkpoint_sections.hpp>
#include <ccl/optim/optimizer.hpp>
#include <ccl/optim/scheduler.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace ccl::io {

class Checkpoint {
 public:
  /// Binds the parameters of `module` (anything with for_each_parameter(visit), visit receiving
  /// Parameter<float>& or Parameter<double>&), saved under their names.
  template <class Module>
  Checkpoint& add_module(const std::string& name, Module& module) {
    bind(
        SectionKind::parameters, name, [&module](ByteWriter& out) { write_module(out, module); },
        [&module](ByteReader& in) { return stage_module(in, module); });
    return *this;
  }

  /// Binds an optimiser's state (host or device: a ccl::cuda optimiser's state is saved through
  /// the host, in the same format, by the overloads in <ccl/cuda/optim/checkpoint.hpp>).
  template <class Scalar, class Update, class Backend>
  Checkpoint& add_optimizer(const std::string& name,
                            optim::Optimizer<Scalar, Update, Backend>& optimizer) {
    bind(
        SectionKind::optimizer, name,
        [&optimizer](ByteWriter& out) { write_optimizer(out, optimizer); },
        [&optimizer](ByteReader& in) { return stage_optimizer(in, optimizer); });
    return *this;
  }

  template <class Policy>
  Checkpoint& add_scheduler(const std::string& name, optim::Scheduler<Policy>& scheduler) {
    bind(
        SectionKind::scheduler, name,
        [&scheduler](ByteWriter& out) { write_scheduler(out, scheduler); },
        [&scheduler](ByteReader& in) { return stage_scheduler(in, scheduler); });
    return *this;
  }

  Checkpoint& add_rng(const std::string& name, Rng& rng) {
    bind(
        SectionKind::rng, name, [&rng](ByteWriter& out) { write_rng(out, rng); },
        [&rng](ByteReader& in) { return stage_rng(in, rng); });
    return *this;
  }

  /// An integer counter (epoch, global step, best accuracy's epoch, ...), stored as int64.
  template <class Integer>
  Checkpoint& add_counter(const std::string& name, Integer& counter) {
    static_assert(std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>,
                  "ccl::io::Checkpoint::add_counter: the counter must be an integer variable");
    bind(
        SectionKind::counter, name, [&counter](ByteWriter& out) { write_counter(out, counter); },
        [&counter](ByteReader& in) { return stage_counter(in, counter); });
    return *this;
  }

  /// A real number (a best validation score, a running average, ...), stored as f64.
  Checkpoint& add_value(const std::string& name, double& value) {
    bind(
        SectionKind::value, name, [&value](ByteWriter& out) { write_value(out, value); },
        [&value](ByteReader& in) { return stage_value(in, value); });
    return *this;
  }

  /// Whether load() accepts a file with sections nothing is bound to (e.g. loading only the model
  /// from a full training checkpoint). Off by default: an unexpected section usually means the
  /// wrong file.
  Checkpoint& allow_extra_sections(bool allow) {
    allow_extra_sections_ = allow;
    return *this;
  }

  /// The complete file content.
  std::vector<std::uint8_t> to_bytes() const {
    ByteWriter out;
    begin_checkpoint(out, std::uint32_t(bindings_.size()));
    for (const Binding& binding : bindings_) {
      const std::size_t size_offset = begin_section(out, binding.kind, binding.name);
      binding.write(out);
      end_section(out, size_offset);
    }
    finish_checkpoint(out);
    return std::move(out.bytes());
  }

  /// Restores every bound object from a file content; `source` names it in error messages.
  void from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& source = "<memory>") {
    const std::vector<Section> sections = parse_checkpoint(bytes, source);
    const std::string where = "load_checkpoint: '" + source + "'";
    std::map<std::string, const Section*> by_name;
    for (const Section& section : sections) by_name[section.name] = &section;

    std::vector<Commit> commits;
    for (const Binding& binding : bindings_) {
      const char* kind = section_kind_name(std::uint32_t(binding.kind));
      const auto found = by_name.find(binding.name);
      require(found != by_name.end(), where, " has no ", kind, " section '", binding.name, "'");
      const Section& section = *found->second;
      require(section.kind == std::uint32_t(binding.kind), where, ": section '", binding.name,
              "' holds a ", section_kind_name(section.kind), ", not a ", kind);
      ByteReader in(section.body, section.size,
                    ccl::detail::concat(where, ", ", kind, " '", binding.name, "'"));
      commits.push_back(binding.stage(in));
      by_name.erase(found);
    }
    if (!allow_extra_sections_) {
      for (const auto& entry : by_name) {
        throw error(ccl::detail::concat(where, " has a ", section_kind_name(entry.second->kind),
                                        " section '", entry.first,
                                        "' that nothing is bound to (see allow_extra_sections)"));
      }
    }
    for (const Commit& commit : commits) commit();
  }

  /// Writes the checkpoint to `path` atomically; on failure `path` keeps its previous content.
  void save(const std::string& path) const {
    write_file_atomically(path, to_bytes(), "save_checkpoint");
  }

  /// Restores every bound object from `path`; on failure nothing is changed.
  void load(const std::string& path) { from_bytes(read_file(path, "load_checkpoint"), path); }

 private:
  struct Binding {
    SectionKind kind;
    std::string name;
    std::function<void(ByteWriter&)> write;
    std::function<Commit(ByteReader&)> stage;
  };

  void bind(SectionKind kind, const std::string& name, std::function<void(ByteWriter&)> write,
            std::function<Commit(ByteReader&)> stage) {
    require(!name.empty(), "Checkpoint: a binding needs a non-empty name");
    for (const Binding& binding : bindings_) {
      require(binding.name != name, "Checkpoint: the name '", name, "' is already bound (to a ",
              section_kind_name(std::uint32_t(binding.kind)), ")");
    }
    bindings_.push_back(Binding{kind, name, std::move(write), std::move(stage)});
  }

  std::vector<Binding> bindings_;
  bool allow_extra_sections_ = false;
};

}  // namespace ccl::io
