#pragma once
// Gradient checks for ccl::nn layers on Tensors, in double.
//
// The loss is L(x, θ) = Σ c ⊙ y(x, θ) with a fixed random c, so dL/dy = c; the layer's backward
// (grad_x and the parameters' grad) is compared with central differences of L for every element
// of x and of every parameter. Layers are piecewise smooth at worst (ReLU, max pooling): tests keep
// inputs away from the kinks so a step h = 1e-6 never crosses one.

#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/tensor.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

namespace ccl::testing {

template <class Scalar, std::size_t Rank>
nn::Tensor<Scalar, int(Rank)> random_tensor(Rng& rng, const std::array<Index, Rank>& shape,
                                            double low = -1.0, double high = 1.0) {
  nn::Tensor<Scalar, int(Rank)> t(shape);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = Scalar(rng.uniform(low, high));
  return t;
}

struct GradientErrors {
  double input = 0;      ///< max |numeric − analytic| / max(1, max |analytic|) over x
  double parameter = 0;  ///< the same over all parameters
};

/// Checks `layer`'s backward against central differences at x. `prepare()` runs before every
/// forward (e.g. to reseed a Dropout so the mask stays fixed).
template <class Layer, int Rank>
GradientErrors check_gradients(
    Layer& layer, nn::Tensor<double, Rank> x, Rng& rng, double step = 1e-6,
    const std::function<void()>& prepare = [] {}) {
  using Out = std::decay_t<decltype(layer.forward(x))>;
  prepare();
  const Out y0 = layer.forward(x);
  const Out c = random_tensor<double>(rng, y0.shape());
  auto loss = [&] {
    prepare();
    const Out& y = layer.forward(x);
    return (y.flat().array() * c.flat().array()).sum();
  };

  // Analytic gradients at x (forward again so the layer's cache is at x).
  layer.zero_grad();
  prepare();
  layer.forward(x);
  nn::Tensor<double, Rank> grad_x(x.shape());
  layer.backward(c, &grad_x);
  std::vector<RowMatrix<double>> grads;
  layer.for_each_parameter([&](Parameter<double>& p) { grads.push_back(p.grad); });

  auto relative = [](double max_diff, double scale) { return max_diff / std::max(1.0, scale); };
  GradientErrors errors;
  double diff = 0, scale = 0;
  for (Index i = 0; i < x.size(); ++i) {
    const double saved = x.data()[i];
    x.data()[i] = saved + step;
    const double plus = loss();
    x.data()[i] = saved - step;
    const double minus = loss();
    x.data()[i] = saved;
    const double numeric = (plus - minus) / (2 * step);
    diff = std::max(diff, std::abs(numeric - grad_x.data()[i]));
    scale = std::max(scale, std::abs(grad_x.data()[i]));
  }
  errors.input = relative(diff, scale);

  diff = 0;
  scale = 0;
  std::size_t k = 0;
  layer.for_each_parameter([&](Parameter<double>& p) {
    const RowMatrix<double>& analytic = grads[k++];
    for (Index i = 0; i < p.value.size(); ++i) {
      const double saved = p.value.data()[i];
      p.value.data()[i] = saved + step;
      const double plus = loss();
      p.value.data()[i] = saved - step;
      const double minus = loss();
      p.value.data()[i] = saved;
      const double numeric = (plus - minus) / (2 * step);
      diff = std::max(diff, std::abs(numeric - analytic.data()[i]));
      scale = std::max(scale, std::abs(analytic.data()[i]));
    }
  });
  errors.parameter = relative(diff, scale);
  return errors;
}

/// max |a − b| over all elements of two tensors of equal shape (∞ when the shapes differ).
template <class A, class B, int Rank>
double max_abs_difference(const nn::Tensor<A, Rank>& a, const nn::Tensor<B, Rank>& b) {
  if (a.shape() != b.shape()) return HUGE_VAL;
  double diff = 0;
  for (Index i = 0; i < a.size(); ++i)
    diff = std::max(diff, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return diff;
}

}  // namespace ccl::testing
