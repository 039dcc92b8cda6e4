#pragma once
// The element-wise tensor ops the parameter-free layers are written once over (ReLU, Flatten,
// Identity, Dropout, Residual's join). These are the host versions; <ccl/cuda/nn/tensor_ops.hpp>
// overloads every one for Tensor<Scalar, Rank, ccl::cuda>, found by argument-dependent lookup
// (both live in ccl::nn), so the layers contain no backend test.
//
//   copy_elements(from, to)            to = from, element for element (to already sized)
//   accumulate_elements(from, to)      to += from
//   add_elements(a, b, out)            out = a + b (out resized)
//   relu_elements(x, out)              out = max(x, 0) (out already sized; may be x)
//   relu_backward_elements(y, dy, dx)  dx += dy where y > 0
//   zero_elements(t)                   t = 0 (shape kept)
//
// Each takes the layer's Execution last (host layers may omit it; device layers pass their stream).
//
// Element counts must agree; the layers check shapes before calling. The tensors may differ in
// rank (Flatten), never in scalar or backend.

#include <ccl/core/backend.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/parallel.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/tensor.hpp>

namespace ccl::nn {

template <class Scalar, int From, int To>
void copy_elements(const Tensor<Scalar, From>& from, Tensor<Scalar, To>& to,
                   const Execution<cpu>& = {}) {
  auto y = to.flat();
  const auto x = from.flat();
  parallel_chunks(y.size(), [&](Index first, Index last) {
    y.segment(first, last - first) = x.segment(first, last - first);
  });
}

template <class Scalar, int From, int To>
void accumulate_elements(const Tensor<Scalar, From>& from, Tensor<Scalar, To>& to,
                         const Execution<cpu>& = {}) {
  auto dx = to.flat();
  const auto dy = from.flat();
  parallel_chunks(dx.size(), [&](Index first, Index last) {
    dx.segment(first, last - first) += dy.segment(first, last - first);
  });
}

template <class Scalar, int Rank>
void add_elements(const Tensor<Scalar, Rank>& a, const Tensor<Scalar, Rank>& b,
                  Tensor<Scalar, Rank>& out, const Execution<cpu>& = {}) {
  out.resize(a.shape());
  auto sum = out.flat();
  const auto left = a.flat(), right = b.flat();
  parallel_chunks(sum.size(), [&](Index first, Index last) {
    sum.segment(first, last - first) =
        left.segment(first, last - first) + right.segment(first, last - first);
  });
}

/// PyTorch's rule: the derivative at 0 is 0; NaN propagates.
template <class Scalar, int Rank>
void relu_elements(const Tensor<Scalar, Rank>& x, Tensor<Scalar, Rank>& out,
                   const Execution<cpu>& = {}) {
  const auto in = x.flat();
  auto y = out.flat();
  parallel_chunks(x.size(), [&](Index first, Index last) {
    y.segment(first, last - first) = in.segment(first, last - first).cwiseMax(Scalar(0));
  });
}

template <class Scalar, int Rank>
void relu_backward_elements(const Tensor<Scalar, Rank>& y, const Tensor<Scalar, Rank>& grad_y,
                            Tensor<Scalar, Rank>& grad_x, const Execution<cpu>& = {}) {
  auto dx = grad_x.flat();
  const auto out = y.flat();
  const auto dy = grad_y.flat();
  parallel_chunks(dx.size(), [&](Index first, Index last) {
    const Index n = last - first;
    dx.segment(first, n).array() +=
        (out.segment(first, n).array() > Scalar(0)).select(dy.segment(first, n).array(), Scalar(0));
  });
}

template <class Scalar, int Rank>
void zero_elements(Tensor<Scalar, Rank>& t, const Execution<cpu>& = {}) {
  t.set_zero();
}

}  // namespace ccl::nn
