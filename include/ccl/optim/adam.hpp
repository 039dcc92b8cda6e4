#pragma once
// optim::Adam<Scalar>: Adam with torch.optim.Adam's semantics (single-tensor path, no amsgrad),
// and torch.optim.AdamW's decoupled weight decay when `decoupled_weight_decay` is set:
//
//   t = t + 1
//   AdamW:  θ = θ · (1 − lr · weight_decay)            Adam: g = g + weight_decay · θ (L2)
//   m = m + (1 − β1) · (g − m)                          (torch's lerp form of β1·m + (1 − β1)·g)
//   v = β2 · v + (1 − β2) · g²
//   θ = θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
//
// ε is added outside the square root and after the bias correction of v, as PyTorch does (the
// Kingma & Ba paper adds ε to the bias-corrected √v̂ too, so both agree; implementations that
// fold the corrections into the step size put ε in a different place). The bias corrections are
// computed in double, like PyTorch's Python floats, and rounded to Scalar when used. The moments
// start at zero on a parameter's first step.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/optim/optimizer.hpp>

#include <array>
#include <cmath>
#include <cstdint>

namespace ccl::optim {

/// Hyper-parameters of one Adam group, defaults as torch.optim.Adam. AdamW is
/// `decoupled_weight_decay = true` (note that torch.optim.AdamW's default weight decay is 1e-2;
/// here it is whatever you set).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;

  template <class Visitor>
  void for_each_hyper_parameter(Visitor&& visit) {
    visit("lr", lr);
    visit("beta1", beta1);
    visit("beta2", beta2);
    visit("eps", eps);
    visit("weight_decay", weight_decay);
    visit("decoupled_weight_decay", decoupled_weight_decay);
  }
};

struct AdamUpdate {
  using Options = AdamOptions;
  static constexpr const char* name = "adam";
  static constexpr const char* display_name = "Adam";
  static constexpr std::array<const char*, 2> buffers{{"exp_avg", "exp_avg_sq"}};

  static void validate(const Options& o, const char* op) {
    require(std::isfinite(o.lr) && o.lr >= 0, op, ": lr must be finite and >= 0, got ", o.lr);
    require(o.beta1 >= 0 && o.beta1 < 1, op, ": beta1 must be in [0, 1), got ", o.beta1);
    require(o.beta2 >= 0 && o.beta2 < 1, op, ": beta2 must be in [0, 1), got ", o.beta2);
    require(std::isfinite(o.eps) && o.eps >= 0, op, ": eps must be finite and >= 0, got ", o.eps);
    require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, op,
            ": weight_decay must be finite and >= 0, got ", o.weight_decay);
  }

  template <class Scalar>
  static void apply(const Options& o, Parameter<Scalar>& p, ParameterState<Scalar>& state) {
    RowMatrix<Scalar>& m = state.buffers[0];
    RowMatrix<Scalar>& v = state.buffers[1];
    if (m.size() == 0) m.setZero(p.value.rows(), p.value.cols());
    if (v.size() == 0) v.setZero(p.value.rows(), p.value.cols());
    const std::int64_t t = ++state.step;

    auto theta = p.value.array();
    const auto g = p.grad.array();
    const Scalar wd = Scalar(o.weight_decay);
    const Scalar one_minus_beta1 = Scalar(1.0 - o.beta1);
    const Scalar beta2 = Scalar(o.beta2);
    const Scalar one_minus_beta2 = Scalar(1.0 - o.beta2);

    if (o.decoupled_weight_decay && o.weight_decay != 0) {
      theta *= Scalar(1.0 - o.lr * o.weight_decay);
    }
    if (!o.decoupled_weight_decay && o.weight_decay != 0) {
      // Both moments see the L2-decayed gradient d = g + wd·θ (θ is not yet updated here).
      m.array() += one_minus_beta1 * ((g + wd * theta) - m.array());
      v.array() = v.array() * beta2 + one_minus_beta2 * (g + wd * theta).square();
    } else {
      m.array() += one_minus_beta1 * (g - m.array());
      v.array() = v.array() * beta2 + one_minus_beta2 * g.square();
    }

    const double bias_correction1 = 1.0 - std::pow(o.beta1, double(t));
    const double bias_correction2 = 1.0 - std::pow(o.beta2, double(t));
    const Scalar step_size = Scalar(o.lr / bias_correction1);
    const Scalar correction2_sqrt = Scalar(std::sqrt(bias_correction2));
    const Scalar eps = Scalar(o.eps);
    theta += -step_size * (m.array() / (v.array().sqrt() / correction2_sqrt + eps));
  }
};

/// Adam / AdamW over parameter groups (see optimizer.hpp for groups, keys and state).
/// Adam<Scalar, ccl::cuda> steps device parameters (<ccl/cuda/optim/adam.hpp>).
template <class Scalar, class Backend = cpu>
using Adam = Optimizer<Scalar, AdamUpdate, Backend>;

}  // namespace ccl::optim
