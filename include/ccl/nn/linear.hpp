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

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/gemm.hpp>
#include <ccl/core/parallel_gemm.hpp>
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

// The Backend argument says where the parameters and batches live. This primary template is the
// host one; Linear<Scalar, ccl::cuda> (cuBLAS, device views) is in <ccl/cuda/nn/linear.hpp>.
template <class Scalar, class Backend = cpu>
class Linear {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(std::is_same_v<Backend, cpu>,
                "ccl::nn::Linear<Scalar, ccl::cuda> lives in <ccl/cuda/nn/linear.hpp>; include it "
                "(or <ccl/cuda.hpp>) to run the layer on the GPU");

 public:
  using scalar_type = Scalar;
  using backend_type = Backend;

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
  /// then bias, so a seed gives the same parameters on every platform.
  void reset_parameters(Rng& rng) {
    const double bound = 1.0 / std::sqrt(double(in_features()));
    rng.fill_uniform(weight_.value, -bound, bound);
    if (has_bias()) rng.fill_uniform(bias_.value, -bound, bound);
  }

  Index in_features() const { return weight_.value.cols(); }
  Index out_features() const { return weight_.value.rows(); }
  bool has_bias() const { return bias_.value.size() > 0; }

  Parameter<Scalar>& weight() { return weight_; }
  const Parameter<Scalar>& weight() const { return weight_; }
  /// The bias parameter (shape [1, out]; [0, 0] when the layer has none).
  Parameter<Scalar>& bias() { return bias_; }
  const Parameter<Scalar>& bias() const { return bias_; }

  /// Sets W from an [out, in] matrix (tests, checkpoints, hand-built heads).
  void set_weight(EmbeddingView<const Scalar> w) {
    require(w.rows() == out_features() && w.cols() == in_features(), "Linear::set_weight: got ",
            w.shape(), ", expected [", out_features(), ", ", in_features(), "] ([out, in])");
    checks::finite("Linear::set_weight", "weight", w);
    weight_.value = w.matrix();
  }

  /// Sets b from a [1, out] row or an [out, 1] column.
  void set_bias(EmbeddingView<const Scalar> b) {
    require(has_bias(), "Linear::set_bias: the layer was built without a bias");
    require(b.rows() * b.cols() == out_features() && (b.rows() == 1 || b.cols() == 1),
            "Linear::set_bias: got ", b.shape(), ", expected [1, ", out_features(), "]");
    checks::finite("Linear::set_bias", "bias", b);
    for (Index k = 0; k < out_features(); ++k) {
      bias_.value(0, k) = b.rows() == 1 ? b.data()[k] : b.data()[k * b.row_stride()];
    }
  }

  /// Whether forward scans x for NaN/Inf (on by default: O(B*in), cheap next to the GEMM).
  void set_check_finite(bool on) { check_finite_ = on; }

  /// y = x Wᵀ + b for x of shape [B, in], B >= 1. The result lives in the layer and is
  /// overwritten by the next forward.
  const RowMatrix<Scalar>& forward(EmbeddingView<const Scalar> x) {
    checks::non_empty("Linear::forward", "x", x);
    require(x.cols() == in_features(), "Linear::forward: x has shape ", x.shape(), ", expected [",
            x.rows(), ", ", in_features(), "] (in_features = ", in_features(), ")");
    if (check_finite_) checks::finite("Linear::forward", "x", x);
    input_ = x.matrix();
    output_.resize(x.rows(), out_features());
    parallel_gemm(output_, gemm_arg(input_), gemm_arg_transposed(weight_.value), Gemm::overwrite,
                  gemm_scratch_);
    if (has_bias()) output_.rowwise() += bias_.value.row(0);
    return output_;
  }

  /// The output of the last forward.
  const RowMatrix<Scalar>& output() const { return output_; }

  /// Back-propagates grad_y = dL/dy ([B, out], same B as the last forward):
  ///   grad W += grad_yᵀ x,  grad b += Σ_rows grad_y,  grad_x += grad_y W  (if grad_x given).
  void backward(EmbeddingView<const Scalar> grad_y, EmbeddingView<Scalar> grad_x = {},
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
    const auto g = grad_y.matrix();
    if (mode == ParameterGradients::accumulate) {
      parallel_gemm(weight_.grad, gemm_arg_transposed(g), gemm_arg(input_), Gemm::accumulate,
                    gemm_scratch_);
      if (has_bias()) bias_.grad.row(0) += g.colwise().sum();
    }
    if (grad_x.data() != nullptr)
      parallel_gemm(grad_x.matrix(), gemm_arg(g), gemm_arg(weight_.value), Gemm::accumulate,
                    gemm_scratch_);
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
    weight_.zero_grad();
    bias_.zero_grad();
  }

 private:
  Parameter<Scalar> weight_;
  Parameter<Scalar> bias_;
  RowMatrix<Scalar> input_;           // copy of the last forward's x, for dL/dW
  RowMatrix<Scalar> output_;          // workspace returned by forward
  GemmScratch<Scalar> gemm_scratch_;  // partial products of a depth-split GEMM
  bool check_finite_ = true;
};

}  // namespace ccl::nn
