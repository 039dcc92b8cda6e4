#pragma once
// Runtime argument checks on Tensors, shared by the layers of ccl::nn. Each names the layer and
// the argument with its full shape, so an error reads like
//   "Conv3d: input has 4 channels (shape [2, 4, 8, 16, 16]), expected 3".
// The ranks themselves are checked at compile time by the Tensor type. The namespace is apart from
// ccl::checks (the EmbeddingView checks Linear uses) so that neither hides the other inside
// ccl::nn.

#include <ccl/core/error.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/nn/tensor.hpp>

#include <atomic>
#include <cmath>

namespace ccl::nn::tensor_checks {

// The shape checks read only the host-side shape, so they are written once for every backend;
// the NaN/Inf scan reads the elements, and its device version is in
// <ccl/cuda/nn/tensor_checks.hpp>.

/// A batch must hold at least one sample and every extent must be positive.
template <class Scalar, int Rank, class Backend>
void non_empty(const char* op, const char* name, const Tensor<Scalar, Rank, Backend>& x) {
  for (int axis = 0; axis < Rank; ++axis)
    require(x.dim(axis) > 0, op, ": ", name, " is empty (shape ", x.shape_string(), ")");
}

template <class Scalar, int Rank, class Backend>
void channels(const char* op, const char* name, const Tensor<Scalar, Rank, Backend>& x,
              Index expected) {
  require(x.channels() == expected, op, ": ", name, " has ", x.channels(), " channels (shape ",
          x.shape_string(), "), expected ", expected);
}

template <class Scalar, int Rank, class Backend>
void same_shape(const char* op, const char* name, const Tensor<Scalar, Rank, Backend>& x,
                const char* expected_name, const Shape<Rank>& expected) {
  require(x.shape() == expected, op, ": ", name, " has shape ", x.shape_string(), ", expected ",
          shape_string(expected), " like ", expected_name);
}

/// NaN or Inf in an input would otherwise surface as a NaN loss many steps later. One pass over
/// the input: cheap next to a convolution, so the layers that dominate the cost do it.
/// The arguments of a layer's backward: a forward happened, grad_y has the last output's shape
/// and grad_x (when given) the last input's. Returns whether grad_x was given.
template <class Scalar, int OutRank, int InRank, class Backend>
bool backward_arguments(const char* op, bool has_forward,
                        const Tensor<Scalar, OutRank, Backend>& grad_y,
                        const Shape<OutRank>& output_shape,
                        const Tensor<Scalar, InRank, Backend>* grad_x,
                        const Shape<InRank>& input_shape) {
  require(has_forward, op, "::backward: called before forward");
  same_shape(op, "grad_y", grad_y, "the last forward's output", output_shape);
  if (grad_x == nullptr) return false;
  same_shape(op, "grad_x", *grad_x, "the last forward's input", input_shape);
  return true;
}

template <class Scalar, int Rank>
void finite(const char* op, const char* name, const Tensor<Scalar, Rank>& x) {
  // Vectorised, threaded fast path; the culprit is located (serially) only on failure.
  const auto flat = x.flat();
  std::atomic<bool> all_finite{true};
  parallel_chunks(x.size(), [&](Index first, Index last) {
    if (!flat.segment(first, last - first).allFinite())
      all_finite.store(false, std::memory_order_relaxed);
  });
  if (all_finite.load(std::memory_order_relaxed)) return;
  const Scalar* data = x.data();
  for (Index i = 0; i < x.size(); ++i) {
    if (!std::isfinite(data[i])) {
      throw error(ccl::detail::concat(op, ": ", name, " (shape ", x.shape_string(),
                                      ") has a non-finite value ", data[i], " at flat index ", i));
    }
  }
}

}  // namespace ccl::nn::tensor_checks
