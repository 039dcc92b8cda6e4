#pragma once
// Dropout<Scalar, Rank>: PyTorch's nn.Dropout(p). In training mode each element is zeroed with
// probability p and the survivors are scaled by 1/(1 − p) ("inverted" dropout, so eval mode is the
// identity and needs no rescaling); in eval mode y = x.
//
// The layer owns its ccl::Rng, seeded at construction: the masks are reproducible from the seed,
// and the generator's state (rng().state()) belongs in a checkpoint for a bit-identical resume.
// Masks are drawn element by element in C order, one uniform() each: keep iff u >= p.
//
// The layer is written once for every backend; what differs is the mask, detail::DropoutMask<
// Scalar, Backend>: drawn on the host as above here, by a device Philox generator keyed from the
// same Rng on CUDA (<ccl/cuda/nn/dropout.hpp>; the backends agree in distribution, not bit for
// bit). The eval-mode copy and gradient are the tensor ops of nn/tensor_ops.hpp.

#include <ccl/core/backend.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/detail/no_parameters.hpp>
#include <ccl/nn/linear.hpp>  // ParameterGradients
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_ops.hpp>

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace ccl::nn {

namespace detail {

/// The mask of one training forward (0 or 1/(1 − p) per element) and its two uses. This primary
/// template is the host engine; the device one is in <ccl/cuda/nn/dropout.hpp>.
template <class Scalar, class Backend>
class DropoutMask {
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Dropout<Scalar, Rank, ccl::cuda> needs <ccl/cuda/nn/dropout.hpp> (or "
                "<ccl/cuda.hpp>) for its device masks");

 public:
  /// Draws the mask of `count` elements: keep iff rng.uniform() >= p, element by element.
  void draw(Rng& rng, double p, Scalar scale, Index count) {
    values_.resize(count);
    for (Index i = 0; i < count; ++i) values_[i] = rng.uniform() >= p ? scale : Scalar(0);
  }

  /// out = x ⊙ mask (out already sized like x).
  template <int Rank>
  void apply(const Tensor<Scalar, Rank>& x, Tensor<Scalar, Rank>& out) const {
    out.flat() = x.flat().cwiseProduct(values_);
  }

  /// grad_x += grad_y ⊙ mask.
  template <int Rank>
  void apply_backward(const Tensor<Scalar, Rank>& grad_y, Tensor<Scalar, Rank>& grad_x) const {
    grad_x.flat() += grad_y.flat().cwiseProduct(values_);
  }

  /// 0 or 1/(1 − p) per element of the last training forward.
  const Vector<Scalar>& values() const { return values_; }

 private:
  Vector<Scalar> values_;
};

}  // namespace detail

// Written once for every backend; ccl::cuda needs <ccl/cuda/nn/dropout.hpp> (or <ccl/cuda.hpp>).
template <class Scalar, int Rank, class Backend = cpu>
class Dropout : public detail::NoParameters<Backend> {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::Dropout<Scalar, Rank, Backend>: Backend must be ccl::cpu or ccl::cuda "
                "(for ccl::cuda include <ccl/cuda/nn/dropout.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Input = Tensor<Scalar, Rank, Backend>;
  using Output = Tensor<Scalar, Rank, Backend>;
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

  /// The copies and the mask's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    rebind_execution(this->execution_, execution);
    ccl::set_execution(mask_, execution);
  }

  /// The generator of the masks (save its state() with a checkpoint; reseed by assignment).
  Rng& rng() { return rng_; }

  const Output& forward(const Input& x) {
    output_.resize(x.shape());
    active_ = training_ && p_ > 0;
    if (!active_) {
      copy_elements(x, output_, this->execution_);
      return output_;
    }
    // p = 1 drops everything; 0 * x (not x / 0) keeps the output finite, as in PyTorch.
    const Scalar scale = p_ < 1 ? Scalar(1.0 / (1.0 - p_)) : Scalar(0);
    mask_.draw(rng_, p_, scale, x.size());
    mask_.apply(x, output_);
    return output_;
  }

  const Output& output() const { return output_; }

  /// grad_x += grad_y ⊙ mask / (1 − p) in training mode, grad_x += grad_y in eval mode.
  void backward(const Output& grad_y, Input* grad_x = nullptr,
                ParameterGradients = ParameterGradients::accumulate) {
    if (!tensor_checks::backward_arguments(name, !output_.empty(), grad_y, output_.shape(), grad_x,
                                           output_.shape()))
      return;
    if (active_) {
      mask_.apply_backward(grad_y, *grad_x);
    } else {
      accumulate_elements(grad_y, *grad_x, this->execution_);
    }
  }

  /// The mask of the last training forward (0 or 1/(1 − p) per element), for tests.
  const auto& mask() const { return mask_.values(); }

 private:
  double p_;
  Rng rng_;
  bool training_ = true;
  bool active_ = false;  // whether the last forward applied a mask
  detail::DropoutMask<Scalar, Backend> mask_;
  Output output_;
};

}  // namespace ccl::nn
