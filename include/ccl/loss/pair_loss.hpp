#pragma once
// The calling convention of every two-input loss L(f, g; labels):
//
//   Scalar accumulate(f, g, labels, weight, grad_f, grad_g)
//       returns L and *adds* weight * dL/df into grad_f and weight * dL/dg into grad_g.
//       A gradient view left empty ({}) is not computed at all (e.g. for a frozen teacher).
//   PairLossResult<Scalar, Backend> operator()(f, g, labels)
//       allocates and returns L, dL/df and dL/dg: the convenient form for one-off calls.
//
// Accumulating with a weight lets combinators (Distill, Symmetric, a pipeline summing branches)
// add terms into one gradient buffer without temporaries.
//
// Backends: a loss `L<Scalar, Backend>` takes EmbeddingView<..., Backend> views; the CRTP base
// reads the backend from the loss's last template argument (ccl::cpu when it has none), so
// operator() takes the same views. On ccl::cuda the result holds device matrices (include
// <ccl/cuda/loss/pair_loss.hpp>, which brings the device side of the matrix ops).

#include <ccl/core/backend.hpp>
#include <ccl/core/backend_matrix.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/execution.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <type_traits>
#include <utility>

namespace ccl::loss {

namespace detail {
/// Zeros shaped like x, in x's backend memory (set_zero is the backend op of
/// core/backend_matrix.hpp; the CUDA overload is found by argument-dependent lookup).
template <class Scalar, class Backend>
backend_matrix_t<Scalar, Backend> zeros_like(const EmbeddingView<const Scalar, Backend>& x,
                                             const Execution<Backend>& execution) {
  backend_matrix_t<Scalar, Backend> matrix;
  set_zero(matrix, x.rows(), x.cols(), execution);
  return matrix;
}
}  // namespace detail

/// Value and gradients of one allocating call, written once for every backend: the gradients
/// are backend matrices (RowMatrix on the CPU, device matrices on CUDA, where the value is still
/// on the host because the losses return it synchronised).
template <class Scalar, class Backend = cpu>
struct PairLossResult {
  Scalar value{};
  backend_matrix_t<Scalar, Backend> grad_f;  ///< dL/df, same shape as f
  backend_matrix_t<Scalar, Backend> grad_g;  ///< dL/dg, same shape as g

  /// A result with zero gradients shaped like f and g (what operator() accumulates into).
  static PairLossResult zeros(const EmbeddingView<const Scalar, Backend>& f,
                              const EmbeddingView<const Scalar, Backend>& g,
                              const Execution<Backend>& execution = {}) {
    PairLossResult result;
    result.grad_f = detail::zeros_like(f, execution);
    result.grad_g = detail::zeros_like(g, execution);
    return result;
  }
  EmbeddingView<Scalar, Backend> grad_f_view() { return mutable_view(grad_f); }
  EmbeddingView<Scalar, Backend> grad_g_view() { return mutable_view(grad_g); }
};

namespace detail {

/// The backend of a loss type: its last template argument when that is a backend tag
/// (MultiClassNce<float, ccl::cuda>, Symmetric<Loss, float, ccl::cuda>), else ccl::cpu. Pattern
/// matching works on the incomplete type a CRTP base sees.
template <class T>
struct loss_backend {
  using type = cpu;
};
template <template <class...> class L, class... Args>
struct loss_backend<L<Args...>> {
 private:
  template <class... Ts>
  struct last;
  template <class T>
  struct last<T> {
    using type = T;
  };
  template <class T, class... Ts>
  struct last<T, Ts...> {
    using type = typename last<Ts...>::type;
  };
  using candidate = typename last<void, Args...>::type;

 public:
  using type = std::conditional_t<is_backend_v<candidate>, candidate, cpu>;
};
template <class T>
using loss_backend_t = typename loss_backend<T>::type;

}  // namespace detail

/// Implements operator() for a loss that provides accumulate() and execution() (the Execution its
/// ops run with, which the result's zeroing uses too); used as a CRTP base.
template <class Derived, class Scalar, class Backend = detail::loss_backend_t<Derived>>
class PairLossInterface {
 public:
  using backend_type = Backend;

  PairLossResult<Scalar, Backend> operator()(EmbeddingView<const Scalar, Backend> f,
                                             EmbeddingView<const Scalar, Backend> g,
                                             LabelView labels = {}) {
    auto& loss = static_cast<Derived&>(*this);
    auto result = PairLossResult<Scalar, Backend>::zeros(f, g, execution_of<Backend>(loss));
    result.value =
        loss.accumulate(f, g, labels, Scalar(1), result.grad_f_view(), result.grad_g_view());
    return result;
  }
};

/// True when L provides the pair-loss calling convention for Scalar on Backend's views.
template <class L, class Scalar, class Backend, class = void>
struct is_pair_loss_on : std::false_type {};
template <class L, class Scalar, class Backend>
struct is_pair_loss_on<
    L, Scalar, Backend,
    std::void_t<decltype(std::declval<L&>().accumulate(
        std::declval<EmbeddingView<const Scalar, Backend>>(),
        std::declval<EmbeddingView<const Scalar, Backend>>(), std::declval<LabelView>(), Scalar(1),
        std::declval<EmbeddingView<Scalar, Backend>>(),
        std::declval<EmbeddingView<Scalar, Backend>>()))>> : std::true_type {};

/// The host form, kept for existing callers: is_pair_loss<L, Scalar>.
template <class L, class Scalar>
struct is_pair_loss : is_pair_loss_on<L, Scalar, cpu> {};

template <class L, class Scalar, class Backend = cpu>
inline constexpr bool is_pair_loss_v = is_pair_loss_on<L, Scalar, Backend>::value;

}  // namespace ccl::loss
