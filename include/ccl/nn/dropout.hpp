#pragma once
// Dropout<Scalar, Rank>: PyTorch's nn.Dropout(p). In training mode each element is zeroed with
// probability p and the survivors are scaled by 1/(1 − p) ("inverted" dropout, so eval mode is the
// identity and needs no rescaling); in eval mode y = x.
//
// The layer owns its ccl::Rng, seeded at construction: the masks are reproducible from the seed,
// and the generator's state (rng().state()) belongs in a checkpoint for a bit-identical resume.
// Masks are drawn element by element in C order, one uniform() each: keep iff u >= p.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace ccl::nn {

// The primary template is the CPU layer; Dropout<Scalar, Rank, ccl::cuda> (device Philox masks,
// which differ from these) is in <ccl/cuda/nn/dropout.hpp>.
template <class Scalar, int Rank, class Backend = cpu>
class Dropout {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Dropout<Scalar, Rank, ccl::cuda> lives in <ccl/cuda/nn/dropout.hpp>; "
                "include it (or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = cpu;
  using Input = Tensor<Scalar, Rank>;
  using Output = Tensor<Scalar, Rank>;
  static constexpr int input_rank = Rank;
  static constexpr int output_rank = Rank;
  static constexpr const char* name = "Dropout";
  static constexpr bool preserves_channels = true;

  explicit Dropout(double p = 0.5, std::uint64_t seed = 0) : p_(p), rng_(seed) {
    require(p >= 0 && p <= 1, name, ": the drop probability must be in [0, 1], got ", p);
  }

  double p() const { return p_; }
  void set_training(bool on) { training_ = on; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  /// The generator of the masks (save its state() with a checkpoint; reseed by assignment).
  Rng& rng() { return rng_; }

  const Output& forward(const Input& x) {
    output_.resize(x.shape());
    active_ = training_ && p_ > 0;
    if (!active_) {
      output_.flat() = x.flat();
      return output_;
    }
    // p = 1 drops everything; 0 * x (not x / 0) keeps the output finite, as in PyTorch.
    const Scalar scale = p_ < 1 ? Scalar(1.0 / (1.0 - p_)) : Scalar(0);
    mask_.resize(x.size());
    for (Index i = 0; i < x.size(); ++i) mask_[i] = rng_.uniform() >= p_ ? scale : Scalar(0);
    output_.flat() = x.flat().cwiseProduct(mask_);
    return output_;
  }

  const Output& output() const { return output_; }

  /// grad_x += grad_y ⊙ mask / (1 − p) in training mode, grad_x += grad_y in eval mode.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    require(!output_.empty(), name, "::backward: called before forward");
    tensor_checks::same_shape(name, "grad_y", grad_y, "the last forward's output", output_.shape());
    if (grad_x == nullptr) return;
    tensor_checks::same_shape(name, "grad_x", *grad_x, "the last forward's input", output_.shape());
    if (active_) {
      grad_x->flat() += grad_y.flat().cwiseProduct(mask_);
    } else {
      grad_x->flat() += grad_y.flat();
    }
  }

  template <class Visitor>
  void for_each_parameter(Visitor&&) {}
  template <class Visitor>
  void for_each_parameter(Visitor&&) const {}
  void zero_grad() {}

 private:
  double p_;
  Rng rng_;
  bool training_ = true;
  bool active_ = false;  // whether the last forward applied a mask
  Vector<Scalar> mask_;  // 0 or 1/(1 − p) per element of the last forward
  Output output_;
};

}  // namespace ccl::nn
