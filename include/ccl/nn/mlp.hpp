#pragma once
// nn::Mlp<Scalar>: a stack of Linear + ReLU layers on a row-major [B, in] batch, the hidden part
// of an MLP probe on precomputed features (the classifier that follows is the student's Linear).
//
//   nn::Mlp<float> mlp(512, {256, 128}, rng);    // 512 -> 256 -> ReLU -> 128 -> ReLU
//   const auto& h = mlp.forward(features);       // [B, 128]
//   mlp.backward(grad_h);                        // adds into every weight's and bias's grad
//
// Same calling convention as nn::Linear (ccl/nn/linear.hpp): forward returns a reference to a
// member workspace, backward ADDS into the parameters' gradients and, when given, into grad_x.
// Views in and out, so features held in a RowMatrix, a Map or a view are used where they lie.

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/linear.hpp>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl::nn {

template <class Scalar, class Backend = cpu>
class Mlp {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Mlp runs on the CPU backend only; on the GPU, stack "
                "nn::Linear<Scalar, ccl::cuda> layers yourself");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;

  /// `hidden` lists the width of every Linear + ReLU layer, in order (at least one). Weights are
  /// initialised like PyTorch's nn.Linear, layer by layer from `rng`.
  Mlp(Index in_features, std::vector<Index> hidden, Rng& rng) : in_features_(in_features) {
    require(in_features > 0, "Mlp: in_features must be positive, got ", in_features);
    require(!hidden.empty(), "Mlp: give at least one hidden width");
    Index in = in_features;
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      require(hidden[i] > 0, "Mlp: hidden width ", i, " must be positive, got ", hidden[i]);
      layers_.emplace_back(in, hidden[i], rng);
      // Unique names within the module: checkpoints and optimiser groups address them so.
      layers_.back().weight().name = "mlp." + std::to_string(i) + ".weight";
      layers_.back().bias().name = "mlp." + std::to_string(i) + ".bias";
      in = hidden[i];
    }
    activations_.resize(layers_.size());
    grad_hidden_.resize(layers_.size());
  }

  /// h = ReLU(... ReLU(x W₁ᵀ + b₁) ...) for x of shape [B, in_features]; valid until the next call.
  const RowMatrix<Scalar>& forward(EmbeddingView<const Scalar> x) {
    require(x.cols() == in_features_, "Mlp::forward: the input has ", x.cols(),
            " features, expected ", in_features_);
    EmbeddingView<const Scalar> h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      activations_[i] = layers_[i].forward(h);
      relu_in_place(activations_[i]);
      h = view(activations_[i]);
    }
    return activations_.back();
  }

  /// Back-propagates dL/dh of the last forward: adds into every parameter's gradient and, when
  /// grad_x is given, adds dL/dx into it.
  void backward(EmbeddingView<const Scalar> grad_y, EmbeddingView<Scalar> grad_x = {}) {
    require(!activations_.empty() && activations_.back().rows() > 0,
            "Mlp::backward: called before forward");
    require(
        grad_y.rows() == activations_.back().rows() && grad_y.cols() == activations_.back().cols(),
        "Mlp::backward: grad_y has shape ", grad_y.shape(), ", expected [",
        activations_.back().rows(), ", ", activations_.back().cols(), "]");
    grad_output_ = grad_y.matrix();
    for (std::size_t i = layers_.size(); i-- > 0;) {
      // ReLU's gradient: through where the activation is positive (PyTorch's choice at 0).
      grad_output_ = (activations_[i].array() > Scalar(0)).select(grad_output_, Scalar(0));
      if (i == 0) {
        layers_[0].backward(view(grad_output_), grad_x);
      } else {
        grad_hidden_[i].setZero(grad_output_.rows(), layers_[i].in_features());
        layers_[i].backward(view(grad_output_), mutable_view(grad_hidden_[i]));
        grad_output_.swap(grad_hidden_[i]);
      }
    }
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    for (auto& layer : layers_) layer.for_each_parameter(visit);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    for (const auto& layer : layers_) layer.for_each_parameter(visit);
  }
  void zero_grad() {
    for (auto& layer : layers_) layer.zero_grad();
  }

  Index in_features() const { return in_features_; }
  Index out_features() const { return layers_.back().out_features(); }
  std::size_t depth() const { return layers_.size(); }
  Linear<Scalar>& layer(std::size_t i) { return layers_.at(i); }

 private:
  static void relu_in_place(RowMatrix<Scalar>& m) {
    Scalar* data = m.data();
    parallel_chunks(m.size(), [&](Index first, Index last) {
      for (Index k = first; k < last; ++k) data[k] = data[k] > Scalar(0) ? data[k] : Scalar(0);
    });
  }

  Index in_features_;
  std::vector<Linear<Scalar>> layers_;
  std::vector<RowMatrix<Scalar>> activations_;  // post-ReLU outputs, kept for backward
  std::vector<RowMatrix<Scalar>> grad_hidden_;
  RowMatrix<Scalar> grad_output_;
};

}  // namespace ccl::nn
