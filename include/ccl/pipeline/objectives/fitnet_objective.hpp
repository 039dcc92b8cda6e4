#pragma once
// FitNetObjective<Scalar>: the FitNet baseline of Table 1 (method.md §8.2) as a branch objective.
//
//   r(x_v) = ReLU(BatchNorm1d(Linear(D_v → D_t)(x_v))),   L = MSE(r(x_v), x_t)  (mean over B·D_t)
//
// The regressor r is RepDistiller's ConvReg (conv → BN → ReLU) carried over to embeddings
// [inferred analogue; the teachers' features are non-negative, so the ReLU is consistent], built
// from ccl::nn layers and trained jointly with the student on β · L, β = 100 (RepDistiller). Its
// parameters are "regressor.0.weight", "regressor.0.bias" (Linear), "regressor.1.weight",
// "regressor.1.bias" (BatchNorm γ, β); its running statistics "regressor.1.running_mean",
// "regressor.1.running_var" are buffers (checkpointed, never optimised). The batch norm always
// runs in training mode, since the regressor only exists during training.
//
// A branch with a single row (possible after masking missing teachers) contributes nothing: batch
// normalisation has no statistics over one row (PyTorch refuses such a batch in training mode).

#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/baselines/fitnet.hpp>
#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/pipeline/objectives/baseline_terms.hpp>

#include <string>

namespace ccl::pipeline::objectives {

template <class Scalar = float>
class FitNetObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives::FitNetObjective: the scalar type must be float or "
                "double");

 public:
  using Terms = BaselineTerms<Scalar>;
  using Regressor = nn::Sequential<nn::TensorLinear<Scalar>, nn::BatchNorm<Scalar, 0>,
                                   nn::ReLU<Scalar, 2>>;
  static constexpr double default_beta = loss::baselines::FitNet<Scalar>::default_beta;

  /// A regressor from the student's `student_dim`-d embeddings to the teacher's `teacher_dim`-d
  /// ones, its Linear initialised from `rng` like PyTorch's nn.Linear (BatchNorm: γ = 1, β = 0).
  FitNetObjective(Index student_dim, Index teacher_dim, Rng& rng, double beta = default_beta)
      : regressor_(make_regressor(student_dim, teacher_dim, rng)),
        beta_(detail::checked_beta("FitNetObjective", beta)),
        student_dim_(student_dim),
        teacher_dim_(teacher_dim) {}

  double beta() const { return beta_; }
  Regressor& regressor() { return regressor_; }

  template <class Composition>
  Terms accumulate(Composition& /*composition*/, EmbeddingView<const Scalar> x_v,
                   EmbeddingView<const Scalar> /*z_v*/, EmbeddingView<const Scalar> x_t,
                   LabelView labels, EmbeddingView<Scalar> grad_x_v,
                   EmbeddingView<Scalar> /*grad_z_v*/) {
    static_assert(detail::assert_no_composition<Composition, Scalar>());
    constexpr const char* op = "FitNetObjective";
    checks::same_rows(op, "x_v", x_v, "x_t", x_t);
    checks::labels_match(op, x_v.rows(), labels);
    require(x_v.cols() == student_dim_, op, ": x_v has shape ", x_v.shape(),
            " but the regressor takes ", student_dim_, "-d student embeddings");
    require(x_t.cols() == teacher_dim_, op, ": x_t has shape ", x_t.shape(),
            " but the regressor maps to ", teacher_dim_, "-d teacher embeddings");
    checks::gradient_shape(op, "x_v", x_v, "grad_x_v", grad_x_v);
    const Index batch = x_v.rows();
    if (batch < 2) return detail::make_terms(Scalar(0), beta_, /*has_modules=*/true);

    input_.resize({batch, student_dim_});
    input_.matrix() = x_v.matrix();
    const auto& regressed = regressor_.forward(input_);
    grad_regressed_.resize(regressed.shape());
    grad_regressed_.set_zero();
    // Frozen teacher: no teacher gradient is requested.
    const Scalar value = hint_.accumulate(regressed, x_t, labels, Scalar(beta_),
                                          grad_regressed_.mutable_view(), {});
    grad_input_.resize(input_.shape());
    grad_input_.set_zero();
    regressor_.backward(grad_regressed_, &grad_input_);  // also accumulates the regressor's grads
    if (grad_x_v.data() != nullptr) grad_x_v.matrix() += grad_input_.matrix();
    return detail::make_terms(value, beta_, /*has_modules=*/true);
  }

  /// The regressor's parameters (the "heads" group of the optimiser, method.md §8).
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    regressor_.for_each_parameter(visit);
  }

  /// The batch norm's running statistics, for checkpoints.
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    regressor_.for_each_buffer([&](const std::string& name, RowMatrix<Scalar>& value) {
      visit("regressor." + name, value);
    });
  }

  void zero_grad() { regressor_.zero_grad(); }

 private:
  static Regressor make_regressor(Index student_dim, Index teacher_dim, Rng& rng) {
    require(student_dim > 0 && teacher_dim > 0, "FitNetObjective: the embedding sizes must be "
            "positive, got student ", student_dim, ", teacher ", teacher_dim);
    Regressor regressor = nn::sequential(nn::Linear<Scalar>(student_dim, teacher_dim, rng),
                                         nn::BatchNorm<Scalar, 0>(teacher_dim),
                                         nn::ReLU<Scalar, 2>{});
    nn::prefix_parameter_names(regressor, "regressor.");
    return regressor;
  }

  Regressor regressor_;
  loss::baselines::FitNet<Scalar> hint_;
  double beta_;
  Index student_dim_, teacher_dim_;
  nn::Tensor<Scalar, 2> input_, grad_regressed_, grad_input_;
};

}  // namespace ccl::pipeline::objectives
