#pragma once
// nn::Linear<Scalar>: the fully connected layer y = x Wᵀ + b on a row-major [B, in] batch, with
// weight W of shape [out, in] and an optional bias b of shape [1, out] (PyTorch's nn.Linear
// layout, so checkpoints map one to one).
//
// Calling convention shared by the nn layers:
//   const RowMatrix<Scalar>& forward(x)          computes y into a member workspace and returns a
//                                                reference to it, valid until the next forward;
//                                                a copy of x is kept for backward.
//   void backward(grad_y, grad_x = {}, mode)     ADDS dL/dW and dL/db into the parameters' grad
//                                                (unless mode is ParameterGradients::skip) and,
//                                                when grad_x is non-empty, ADDS dL/dx into it.
//   for_each_parameter(visit)                    visits Parameter "weight", then "bias".
//
// Why a workspace and a copy: after the first call with a given batch size neither forward nor
// backward allocates, and backward stays correct even if the caller reuses x's buffer in between
// (the copy costs B*in, negligible next to the B*in*out GEMM). Accumulating gradients, like the
// pair losses do, lets several losses share one backward pass without temporaries.
//
// Backends: Linear<Scalar, Backend> is written once over the ops of core/backend_matrix.hpp
// (matmul, add_to_rows, add_column_sums, check_finite); with <ccl/cuda/nn/linear.hpp> the same
// class runs on the device (cuBLAS GEMMs, device views in and out, parameters in device memory).
// Initialisation is drawn on the host in the same order on every backend and uploaded, so a seed
// gives bit-identical weights everywhere.

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>

#include <cmath>
#include <type_traits>
#include <utility>

namespace ccl::nn {

/// Whether a backward pass adds into the parameters' gradients. `skip` serves gradient routings
/// where a loss term must reach the inputs but not the layer (method.md §4.5, Algorithm A: the
/// composition heads learn from cross-entropy only, while the student learns from everything).
enum class ParameterGradients { accumulate, skip };

// The Backend argument says where the parameters and batches live; ccl::cuda needs
// <ccl/cuda/nn/linear.hpp> (or <ccl/cuda.hpp>), whose ops the class below calls.
template <class Scalar, class Backend = cpu>
class Linear {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::nn::Linear<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda (for "
                "ccl::cuda include <ccl/cuda/nn/linear.hpp> or <ccl/cuda.hpp>)");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;
  using Matrix = backend_matrix_t<Scalar, Backend>;
  using ConstView = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;

  /// A layer with zero parameters; initialise with reset_parameters() or set_weight()/set_bias().
  Linear(Index in_features, Index out_features, bool bias = true)
      : weight_("weight", in_features > 0 && out_features > 0 ? out_features : 0,
                in_features > 0 ? in_features : 0),
        bias_("bias", bias ? 1 : 0, bias && out_features > 0 ? out_features : 0,
              ParameterRole::bias) {
    require(in_features > 0 && out_features > 0,
            "Linear: feature sizes must be positive, got in = ", in_features,
            ", out = ", out_features);
  }

  /// PyTorch's default initialisation (see reset_parameters).
  Linear(Index in_features, Index out_features, Rng& rng, bool bias = true)
      : Linear(in_features, out_features, bias) {
    reset_parameters(rng);
  }

  /// W, b ~ U(-1/√in, 1/√in): what nn.Linear's kaiming_uniform_(a = √5) for the weight and its
  /// fan-in bound for the bias reduce to (gain √(2/(1+5)) · √(3/in) = 1/√in). The composition
  /// heads of the official code use exactly this (method.md §3.4). Weight first, row by row,
  /// then bias, so a seed gives the same parameters on every platform (drawn on the host and
  /// uploaded on other backends).
  void reset_parameters(Rng& rng) {
    const double bound = 1.0 / std::sqrt(double(in_features()));
    RowMatrix<Scalar> w(out_features(), in_features());
    rng.fill_uniform(w, -bound, bound);
    assign(weight_.value, ccl::view(w), scratch_.execution);
    if (has_bias()) {
      RowMatrix<Scalar> b(1, out_features());
      rng.fill_uniform(b, -bound, bound);
      assign(bias_.value, ccl::view(b), scratch_.execution);
    }
  }

  Index in_features() const { return weight_.value.cols(); }
  Index out_features() const { return weight_.value.rows(); }
  bool has_bias() const { return bias_.value.rows() * bias_.value.cols() > 0; }

  Parameter<Scalar, Backend>& weight() { return weight_; }
  const Parameter<Scalar, Backend>& weight() const { return weight_; }
  /// The bias parameter (shape [1, out]; [0, 0] when the layer has none).
  Parameter<Scalar, Backend>& bias() { return bias_; }
  const Parameter<Scalar, Backend>& bias() const { return bias_; }

  /// Sets W from an [out, in] matrix of this backend (tests, checkpoints, hand-built heads).
  void set_weight(ConstView w) {
    require(w.rows() == out_features() && w.cols() == in_features(), "Linear::set_weight: got ",
            w.shape(), ", expected [", out_features(), ", ", in_features(), "] ([out, in])");
    require_backend_memory("Linear::set_weight", "weight", w);
    check_finite("Linear::set_weight", "weight", w, scratch_);
    copy_into(w, mutable_view(weight_.value), scratch_.execution);
  }

  /// Sets b from a [1, out] row or an [out, 1] column.
  void set_bias(ConstView b) {
    require(has_bias(), "Linear::set_bias: the layer was built without a bias");
    require(b.rows() * b.cols() == out_features() && (b.rows() == 1 || b.cols() == 1),
            "Linear::set_bias: got ", b.shape(), ", expected [1, ", out_features(), "]");
    require_backend_memory("Linear::set_bias", "bias", b);
    check_finite("Linear::set_bias", "bias", b, scratch_);
    // Either layout as a column of `out` elements, one per row of the copy.
    const ConstView column(b.data(), out_features(), 1, b.rows() == 1 ? 1 : b.row_stride());
    copy_into(column, MutableView(bias_.value.data(), out_features(), 1, 1), scratch_.execution);
  }

  /// Whether forward scans x for NaN/Inf (on by default: O(B*in), cheap next to the GEMM; on
  /// CUDA the scan reads one flag back, so it synchronises the stream).
  void set_check_finite(bool on) { check_finite_ = on; }

  /// y = x Wᵀ + b for x of shape [B, in], B >= 1 (x may be strided). The result lives in the
  /// layer and is overwritten by the next forward.
  const Matrix& forward(ConstView x) {
    checks::non_empty("Linear::forward", "x", x);
    require(x.cols() == in_features(), "Linear::forward: x has shape ", x.shape(), ", expected [",
            x.rows(), ", ", in_features(), "] (in_features = ", in_features(), ")");
    require_backend_memory("Linear::forward", "x", x);
    if (check_finite_) check_finite("Linear::forward", "x", x, scratch_);
    assign(input_, x, scratch_.execution);
    output_.resize(x.rows(), out_features());
    matmul(mutable_view(output_), view(input_), Operand::as_is, view(weight_.value),
           Operand::transposed, Gemm::overwrite, scratch_);
    if (has_bias()) add_to_rows(mutable_view(output_), view(bias_.value), scratch_.execution);
    return output_;
  }

  /// The output of the last forward.
  const Matrix& output() const { return output_; }

  /// Back-propagates grad_y = dL/dy ([B, out], same B as the last forward):
  ///   grad W += grad_yᵀ x,  grad b += Σ_rows grad_y,  grad_x += grad_y W  (if grad_x given).
  void backward(ConstView grad_y, MutableView grad_x = {},
                ParameterGradients mode = ParameterGradients::accumulate) {
    require(input_.rows() > 0, "Linear::backward: called before forward");
    require(grad_y.rows() == input_.rows() && grad_y.cols() == out_features(),
            "Linear::backward: grad_y has shape ", grad_y.shape(), ", expected [", input_.rows(),
            ", ", out_features(), "] like the last forward's output");
    if (grad_x.data() != nullptr) {
      require(grad_x.rows() == input_.rows() && grad_x.cols() == in_features(),
              "Linear::backward: grad_x has shape ", grad_x.shape(), ", expected [", input_.rows(),
              ", ", in_features(), "] like the last forward's input");
    }
    require_backend_memory("Linear::backward", "grad_y", grad_y);
    require_backend_memory("Linear::backward", "grad_x", grad_x);
    if (mode == ParameterGradients::accumulate) {
      matmul(mutable_view(weight_.grad), grad_y, Operand::transposed, view(input_), Operand::as_is,
             Gemm::accumulate, scratch_);
      if (has_bias()) add_column_sums(mutable_view(bias_.grad), grad_y, scratch_.execution);
    }
    if (grad_x.data() != nullptr) {
      matmul(grad_x, grad_y, Operand::as_is, view(weight_.value), Operand::as_is, Gemm::accumulate,
             scratch_);
    }
  }

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) const {
    visit(weight_);
    if (has_bias()) visit(bias_);
  }

  void zero_grad() {
    weight_.zero_grad(scratch_.execution);
    bias_.zero_grad(scratch_.execution);
  }

  /// Runs the layer's products, copies and scans with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) { scratch_.set_execution(execution); }
  const Execution<Backend>& execution() const { return scratch_.execution; }

 private:
  Parameter<Scalar, Backend> weight_;
  Parameter<Scalar, Backend> bias_;
  Matrix input_;                        // copy of the last forward's x, for dL/dW
  Matrix output_;                       // workspace returned by forward
  OpScratch<Scalar, Backend> scratch_;  // GEMM partials (CPU), cuBLAS handle and NaN flag (CUDA)
  bool check_finite_ = true;
};

}  // namespace ccl::nn
