#pragma once
// Instance contrastive loss (InfoNCE with cosine similarity and temperature τ, method.md §4.2):
//
//   ℓ_i = -log softmax_j(cos(f_i, g_j) / τ)[j = i],   L = (1/B) Σ_i ℓ_i.
//
// The positive of anchor f_i is g_i alone; every other row of g is a negative, whatever its label,
// so labels are not needed (pass none). Evaluated by log-sum-exp, finite for every finite input;
// B = 1 gives L = 0 with zero gradient (the only candidate is the positive).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/detail/contrastive_engine.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <Eigen/Core>

#include <cmath>

namespace ccl::loss {

namespace detail {

template <class Scalar>
class InstanceNceRows {
 public:
  using Row = Eigen::Ref<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
  struct Scratch {};  // the row is its own workspace

  void prepare(const char* op, const LabelView& labels, Index batch, const ContrastiveOptions&) {
    // Labels are optional here; if given they must at least describe this batch.
    if (!labels.empty()) checks::labels_match(op, batch, labels);
  }

  double row(Row s, Index i, Scratch&) const {
    auto a = s.array();
    const Scalar max = a.maxCoeff();
    const Scalar diagonal = a[i];
    a = (a - max).exp();
    const Scalar z = a.sum();
    a /= z;
    a[i] -= 1;  // dℓ/ds = softmax - one_hot(i)
    return double(max) + std::log(double(z)) - double(diagonal);
  }
};

}  // namespace detail

/// Instance NCE as a pair-loss policy: `InstanceNce<float> nce(/*temperature=*/0.1);`
template <class Scalar, class Backend = cpu>
class InstanceNce : public PairLossInterface<InstanceNce<Scalar, Backend>, Scalar> {
  static_assert(is_supported_scalar_v<Scalar>,
                "ccl::loss::InstanceNce: the scalar type must be float or double");

 public:
  using Options = ContrastiveOptions;

  InstanceNce() = default;
  explicit InstanceNce(Options options) : options_(options) {}
  /// Default options with temperature τ.
  explicit InstanceNce(double temperature) { options_.temperature = temperature; }

  const Options& options() const { return options_; }
  Options& options() { return options_; }

  Scalar accumulate(EmbeddingView<const Scalar, Backend> f, EmbeddingView<const Scalar, Backend> g,
                    LabelView labels, Scalar weight, EmbeddingView<Scalar, Backend> grad_f,
                    EmbeddingView<Scalar, Backend> grad_g) {
    return engine_.run("instance_nce", f, g, labels, options_, weight, grad_f, grad_g);
  }

  /// The engine's kernels run with `execution` (core/execution.hpp).
  void set_execution(const Execution<Backend>& execution) {
    ccl::set_execution(engine_, execution);
    rebind_execution(execution_, execution);
  }
  const Execution<Backend>& execution() const { return execution_; }

 private:
  Execution<Backend> execution_;
  Options options_;
  Implementation<ops::RowSoftmaxContrastive<Scalar, detail::InstanceNceRows<Scalar>>, Backend>
      engine_;
};

}  // namespace ccl::loss
