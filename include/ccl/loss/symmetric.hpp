#pragma once
// Symmetric<Loss>: sym(f, g) = L(f, g) + L(g, f), the two-direction contrastive term the official
// CCL code sums everywhere (method.md §4.6, §9.1). Both directions share one Loss object, so its
// workspace is reused. The views are the inner loss's: host views for a CPU loss, device views
// for a ccl::cuda one (the Backend argument defaults to the inner loss's backend).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/loss/pair_loss.hpp>

#include <utility>

namespace ccl::loss {

template <class Loss, class Scalar = float, class Backend = detail::loss_backend_t<Loss>>
class Symmetric : public PairLossInterface<Symmetric<Loss, Scalar, Backend>, Scalar, Backend> {
  static_assert(is_pair_loss_v<Loss, Scalar, Backend>,
                "ccl::loss::Symmetric<Loss, Scalar, Backend>: Loss must provide the pair-loss "
                "accumulate(f, g, labels, weight, grad_f, grad_g) for this Scalar on this "
                "Backend's views");

 public:
  Symmetric() = default;
  explicit Symmetric(Loss loss) : loss_(std::move(loss)) {}

  Loss& inner() { return loss_; }
  const Loss& inner() const { return loss_; }

  Scalar accumulate(EmbeddingView<const Scalar, Backend> f, EmbeddingView<const Scalar, Backend> g,
                    LabelView labels, Scalar weight, EmbeddingView<Scalar, Backend> grad_f,
                    EmbeddingView<Scalar, Backend> grad_g) {
    const Scalar forward = loss_.accumulate(f, g, labels, weight, grad_f, grad_g);
    const Scalar backward = loss_.accumulate(g, f, labels, weight, grad_g, grad_f);
    return forward + backward;
  }

  void set_execution(const Execution<Backend>& execution) { ccl::set_execution(loss_, execution); }
  Execution<Backend> execution() const { return execution_of<Backend>(loss_); }

 private:
  Loss loss_;
};

/// Deduces the scalar and backend from the inner loss: `symmetric(MultiClassNce<double>(0.5))`.
template <template <class, class> class Loss, class Scalar, class Backend>
Symmetric<Loss<Scalar, Backend>, Scalar, Backend> symmetric(Loss<Scalar, Backend> loss) {
  return Symmetric<Loss<Scalar, Backend>, Scalar, Backend>(std::move(loss));
}

}  // namespace ccl::loss
