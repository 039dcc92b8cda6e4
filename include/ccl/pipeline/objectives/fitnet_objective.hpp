#pragma once
// FitNetObjective<Scalar, Backend>: the FitNet baseline of Table 1 (method.md §8.2) as a branch
// objective.
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
//
// Backend ccl::cpu (default) or ccl::cuda: the regressor's layers, the loss, the views and the
// workspaces are the backend's (include <ccl/cuda.hpp> for ccl::cuda); the code is the same. The
// device regressor draws its Linear on the host with the CPU rules, so one seed gives both
// backends identical initial weights. The running statistics are device matrices on ccl::cuda
// (checkpoints copy them through the host).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
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

template <class Scalar = float, class Backend = cpu>
class FitNetObjective {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::pipeline::objectives::FitNetObjective: the scalar type must be float or "
                "double");
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::objectives::FitNetObjective: the second argument must be "
                "ccl::cpu or ccl::cuda");

  using View = EmbeddingView<const Scalar, Backend>;
  using MutableView = EmbeddingView<Scalar, Backend>;

 public:
  using Terms = BaselineTerms<Scalar>;
  using backend_type = Backend;
  using Regressor = nn::Sequential<nn::TensorLinear<Scalar, Backend>,
                                   nn::BatchNorm<Scalar, 0, Backend>, nn::ReLU<Scalar, 2, Backend>>;
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
  Terms accumulate(Composition& /*composition*/, View x_v, View /*z_v*/, View x_t, LabelView labels,
                   MutableView grad_x_v, MutableView /*grad_z_v*/) {
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
    copy_into(x_v, input_.mutable_view(), execution_);
    const auto& regressed = regressor_.forward(input_);
    grad_regressed_.resize(regressed.shape());
    zero_elements(grad_regressed_, execution_);
    // Frozen teacher: no teacher gradient is requested.
    const Scalar value =
        hint_.accumulate(regressed, x_t, labels, Scalar(beta_), grad_regressed_.mutable_view(), {});
    grad_input_.resize(input_.shape());
    zero_elements(grad_input_, execution_);
    regressor_.backward(grad_regressed_, &grad_input_);  // also accumulates the regressor's grads
    // alpha = 1 is exact, so on the CPU this is the plain `+=` it always was.
    if (grad_x_v.data() != nullptr) add_scaled(grad_x_v, Scalar(1), View(grad_input_), execution_);
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
    // RowMatrix on the CPU, gpu::DeviceMatrix on ccl::cuda.
    regressor_.for_each_buffer(
        [&](const std::string& name, auto& value) { visit("regressor." + name, value); });
  }

  void zero_grad() { regressor_.zero_grad(); }

  /// The regressor, the loss and the objective's copies run with `execution`
  /// (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    set_executions(execution, regressor_, hint_);
    rebind_execution(execution_, execution);
  }

 private:
  static Regressor make_regressor(Index student_dim, Index teacher_dim, Rng& rng) {
    require(student_dim > 0 && teacher_dim > 0,
            "FitNetObjective: the embedding sizes must be "
            "positive, got student ",
            student_dim, ", teacher ", teacher_dim);
    Regressor regressor = nn::sequential(nn::Linear<Scalar, Backend>(student_dim, teacher_dim, rng),
                                         nn::BatchNorm<Scalar, 0, Backend>(teacher_dim),
                                         nn::ReLU<Scalar, 2, Backend>{});
    nn::prefix_parameter_names(regressor, "regressor.");
    return regressor;
  }

  Regressor regressor_;
  loss::baselines::FitNet<Scalar, Backend> hint_;
  double beta_;
  Index student_dim_, teacher_dim_;
  Execution<Backend> execution_;
  nn::Tensor<Scalar, 2, Backend> input_, grad_regressed_, grad_input_;
};

}  // namespace ccl::pipeline::objectives
