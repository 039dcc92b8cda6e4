#pragma once
// Argument checks shared by every op. Each names the operation and the argument, so an error
// reads like "multiclass_nce: g has shape [32, 256], expected [32, 512] to match f".

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>

#include <cmath>

namespace ccl::checks {

template <class T, class U, class Backend>
void same_shape(const char* op, const char* name_a, const EmbeddingView<T, Backend>& a,
                const char* name_b, const EmbeddingView<U, Backend>& b) {
  require(a.rows() == b.rows() && a.cols() == b.cols(), op, ": ", name_b, " has shape ",
          b.shape(), ", expected ", a.shape(), " to match ", name_a);
}

template <class T, class U, class Backend>
void same_rows(const char* op, const char* name_a, const EmbeddingView<T, Backend>& a,
               const char* name_b, const EmbeddingView<U, Backend>& b) {
  require(a.rows() == b.rows(), op, ": ", name_b, " has ", b.rows(), " rows (shape ", b.shape(),
          ") but ", name_a, " has ", a.rows(), " (shape ", a.shape(), ")");
}

template <class T, class Backend>
void non_empty(const char* op, const char* name, const EmbeddingView<T, Backend>& a) {
  require(a.rows() > 0, op, ": empty batch (", name, " has shape ", a.shape(), ")");
  require(a.cols() > 0, op, ": ", name, " has no features (shape ", a.shape(), ")");
}

/// Optional gradient outputs are either empty (not requested) or exactly the input's shape.
template <class T, class U, class Backend>
void gradient_shape(const char* op, const char* input_name,
                    const EmbeddingView<T, Backend>& input, const char* grad_name,
                    const EmbeddingView<U, Backend>& grad) {
  if (grad.data() == nullptr) return;
  require(grad.rows() == input.rows() && grad.cols() == input.cols(), op, ": ", grad_name,
          " has shape ", grad.shape(), ", expected ", input.shape(), " like ", input_name);
}

/// NaN or Inf in an input would otherwise surface as a NaN loss many steps later.
template <class T>
void finite(const char* op, const char* name, const EmbeddingView<T, cpu>& a) {
  for (Index i = 0; i < a.rows(); ++i) {
    const T* row = a.data() + i * a.row_stride();
    for (Index j = 0; j < a.cols(); ++j) {
      if (!std::isfinite(row[j])) {
        throw error(detail::concat(op, ": ", name, "[", i, ", ", j, "] = ", row[j],
                                   " is not finite"));
      }
    }
  }
}

inline void labels_match(const char* op, Index batch, const LabelView& labels) {
  require(labels.size() == batch, op, ": ", labels.size(), " labels for a batch of ", batch);
}

inline void labels_in_range(const char* op, const LabelView& labels, Index classes) {
  for (Index i = 0; i < labels.size(); ++i) {
    require(labels[i] >= 0 && labels[i] < classes, op, ": label[", i, "] = ", labels[i],
            " is outside [0, ", classes, ")");
  }
}

inline void positive(const char* op, const char* name, double value) {
  require(std::isfinite(value) && value > 0, op, ": ", name, " must be positive and finite, got ",
          value);
}

/// A softmax temperature τ for a computation in `Scalar`: positive and finite, and 1/τ finite in
/// `Scalar` (the logits are s/τ; τ = 1e-39 is a positive double whose reciprocal overflows float
/// and would turn every logit into ±inf and the loss into NaN).
template <class Scalar>
void temperature(const char* op, double tau) {
  positive(op, "temperature", tau);
  const char* type = sizeof(Scalar) == 4 ? "float" : sizeof(Scalar) == 8 ? "double" : "Scalar";
  require(std::isfinite(static_cast<Scalar>(1.0 / tau)) && static_cast<Scalar>(tau) > Scalar(0),
          op, ": temperature ", tau, " is too small for ", type, ": 1/temperature = ", 1.0 / tau,
          " overflows it");
}

}  // namespace ccl::checks
