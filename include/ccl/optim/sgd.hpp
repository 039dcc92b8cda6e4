#pragma once
// optim::Sgd<Scalar>: stochastic gradient descent with momentum, dampening, L2 weight decay and
// the Nesterov option, with exactly torch.optim.SGD's update rule (single-tensor path), so that
// the official CCL recipe (method.md §5) is reproduced:
//
//   d = g + weight_decay · θ                       (only when weight_decay != 0)
//   if momentum != 0:
//     b = d                                        on the parameter's first step (no dampening!)
//     b = momentum · b + (1 − dampening) · d       afterwards
//     d = nesterov ? d + momentum · b : b
//   θ = θ − lr · d
//
// The first-step rule matters: PyTorch initialises the buffer with a copy of d, so dampening only
// acts from the second step on. The gradient itself is never modified (weight decay goes into a
// temporary expression), as in PyTorch.
//
// Arithmetic is in Scalar with the hyper-parameters rounded to Scalar, in PyTorch's order of
// operations; bit equality with PyTorch's float32 kernels is not promised (its vectorised kernels
// may fuse a multiply-add), the rule is.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/optim/optimizer.hpp>

#include <array>
#include <cmath>

namespace ccl::optim {

/// Hyper-parameters of one SGD group, in torch.optim.SGD's argument order, so aggregate
/// initialisation reads like the PyTorch call: SgdOptions{lr, momentum, dampening, wd, nesterov}.
struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  /// The official CCL scripts' setting for the student and for every composition head
  /// (method.md §5): lr 1e-3, momentum 0.9, dampening 0, weight decay 5e-4, no Nesterov.
  static SgdOptions official() { return SgdOptions{1e-3, 0.9, 0.0, 5e-4, false}; }

  template <class Visitor>
  void for_each_hyper_parameter(Visitor&& visit) {
    visit("lr", lr);
    visit("momentum", momentum);
    visit("dampening", dampening);
    visit("weight_decay", weight_decay);
    visit("nesterov", nesterov);
  }
};

struct SgdUpdate {
  using Options = SgdOptions;
  static constexpr const char* name = "sgd";
  static constexpr const char* display_name = "Sgd";
  static constexpr std::array<const char*, 1> buffers{{"momentum_buffer"}};

  static void validate(const Options& o, const char* op) {
    require(std::isfinite(o.lr) && o.lr >= 0, op, ": lr must be finite and >= 0, got ", o.lr);
    require(std::isfinite(o.momentum) && o.momentum >= 0, op,
            ": momentum must be finite and >= 0, got ", o.momentum);
    require(std::isfinite(o.dampening), op, ": dampening must be finite, got ", o.dampening);
    require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, op,
            ": weight_decay must be finite and >= 0, got ", o.weight_decay);
    // PyTorch refuses the same combinations: Nesterov needs a momentum and no dampening.
    require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), op,
            ": nesterov needs momentum > 0 and dampening = 0, got momentum = ", o.momentum,
            ", dampening = ", o.dampening);
  }

  template <class Scalar>
  static void apply(const Options& o, Parameter<Scalar>& p, ParameterState<Scalar>& state) {
    auto theta = p.value.array();
    const auto g = p.grad.array();
    const Scalar lr = Scalar(o.lr);
    const Scalar wd = Scalar(o.weight_decay);
    const Scalar momentum = Scalar(o.momentum);
    ++state.step;

    if (o.momentum == 0) {
      if (o.weight_decay != 0)
        theta += -lr * (g + wd * theta);
      else
        theta += -lr * g;
      return;
    }

    RowMatrix<Scalar>& buffer = state.buffers[0];
    if (buffer.size() == 0) {  // first step: b = clone(d)
      if (o.weight_decay != 0)
        buffer = (g + wd * theta).matrix();
      else
        buffer = p.grad;
    } else {
      const Scalar keep = Scalar(1.0 - o.dampening);
      if (o.weight_decay != 0)
        buffer.array() = buffer.array() * momentum + keep * (g + wd * theta);
      else
        buffer.array() = buffer.array() * momentum + keep * g;
    }
    if (o.nesterov) {
      if (o.weight_decay != 0)
        theta += -lr * ((g + wd * theta) + momentum * buffer.array());
      else
        theta += -lr * (g + momentum * buffer.array());
    } else {
      theta += -lr * buffer.array();
    }
  }
};

/// SGD over parameter groups (see optimizer.hpp for groups, keys and state).
/// Sgd<Scalar, ccl::cuda> steps device parameters (<ccl/cuda/optim/sgd.hpp>).
template <class Scalar, class Backend = cpu>
using Sgd = Optimizer<Scalar, SgdUpdate, Backend>;

}  // namespace ccl::optim
