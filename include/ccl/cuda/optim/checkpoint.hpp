#pragma once
// Checkpoints of device optimisers. A checkpoint's optimiser section (io/checkpoint_sections.hpp)
// is written from, and staged into, a host optimiser; HostMirror builds one that matches a device
// optimiser (same groups, keys, shapes and options, over shape-only host parameters whose memory
// is never touched), so the device optimiser's section is byte for byte the format of the CPU
// one, with the same validation on load, and a file saved on one backend loads on the other.
//
// io::write_optimizer / io::stage_optimizer overloads for Optimizer<Scalar, Update, ccl::cuda>
// are provided here (found by argument-dependent lookup through io::ByteWriter / ByteReader).
// stage_optimizer validates the whole section before anything changes, like the CPU one; its
// commit uploads the staged state.

#include <ccl/core/backend.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/optim/optimizer.hpp>
#include <ccl/io/byte_stream.hpp>
#include <ccl/io/checkpoint_sections.hpp>
#include <ccl/optim/optimizer.hpp>

#include <deque>
#include <memory>

namespace ccl::optim {

/// A host optimiser shaped like a device one. Its parameters have the device parameters' names
/// and shapes but uninitialised values (only their shapes are read), so building it costs no
/// copy of the model.
template <class Scalar, class Update>
class HostMirror {
 public:
  explicit HostMirror(const Optimizer<Scalar, Update, cuda>& device) {
    for (const auto& group : device.groups()) {
      auto builder = host_.add_group(group.options);
      for (const auto& entry : group.entries) {
        Parameter<Scalar>& p = parameters_.emplace_back();
        p.name = entry.parameter->name;
        p.value.resize(entry.parameter->rows(), entry.parameter->cols());
        p.grad.resize(entry.parameter->rows(), entry.parameter->cols());
        builder.add_parameter(entry.key, p);
      }
    }
  }
  HostMirror(const HostMirror&) = delete;
  HostMirror& operator=(const HostMirror&) = delete;

  Optimizer<Scalar, Update>& optimizer() { return host_; }
  const Optimizer<Scalar, Update>& optimizer() const { return host_; }

 private:
  std::deque<Parameter<Scalar>> parameters_;  // stable addresses for the host entries
  Optimizer<Scalar, Update> host_;
};

}  // namespace ccl::optim

namespace ccl::io {

/// The device optimiser's section: its state downloaded into a HostMirror, written as the CPU's.
template <class Scalar, class Update>
void write_optimizer(ByteWriter& out, optim::Optimizer<Scalar, Update, cuda>& optimizer) {
  optim::HostMirror<Scalar, Update> mirror(optimizer);
  optimizer.copy_state_to(mirror.optimizer());
  write_optimizer(out, mirror.optimizer());
}

/// Parses and checks the section against the device optimiser (through its HostMirror, with the
/// CPU's messages); the returned commit uploads the state.
template <class Scalar, class Update>
Commit stage_optimizer(ByteReader& in, optim::Optimizer<Scalar, Update, cuda>& optimizer) {
  auto mirror = std::make_shared<optim::HostMirror<Scalar, Update>>(optimizer);
  Commit host_commit = stage_optimizer(in, mirror->optimizer());
  return [mirror, host_commit, &optimizer] {
    host_commit();
    optimizer.copy_state_from(mirror->optimizer());
  };
}

}  // namespace ccl::io
