#pragma once
// The calling convention of every two-input loss L(f, g; labels):
//
//   Scalar accumulate(f, g, labels, weight, grad_f, grad_g)
//       returns L and *adds* weight * dL/df into grad_f and weight * dL/dg into grad_g.
//       A gradient view left empty ({}) is not computed at all (e.g. for a frozen teacher).
//   PairLossResult<Scalar> operator()(f, g, labels)
//       allocates and returns L, dL/df and dL/dg: the convenient form for one-off calls.
//
// Accumulating with a weight lets combinators (Distill, Symmetric, a pipeline summing branches)
// add terms into one gradient buffer without temporaries.

#include <ccl/core/embedding_view.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <type_traits>
#include <utility>

namespace ccl::loss {

template <class Scalar>
struct PairLossResult {
  Scalar value{};
  RowMatrix<Scalar> grad_f;  ///< dL/df, same shape as f
  RowMatrix<Scalar> grad_g;  ///< dL/dg, same shape as g
};

/// Implements operator() for a loss that provides accumulate(); used as a CRTP base.
template <class Derived, class Scalar>
class PairLossInterface {
 public:
  PairLossResult<Scalar> operator()(EmbeddingView<const Scalar> f, EmbeddingView<const Scalar> g,
                                    LabelView labels = {}) {
    PairLossResult<Scalar> result;
    result.grad_f = RowMatrix<Scalar>::Zero(f.rows(), f.cols());
    result.grad_g = RowMatrix<Scalar>::Zero(g.rows(), g.cols());
    result.value = static_cast<Derived&>(*this).accumulate(f, g, labels, Scalar(1),
                                                           mutable_view(result.grad_f),
                                                           mutable_view(result.grad_g));
    return result;
  }
};

/// True when L provides the pair-loss calling convention for Scalar.
template <class L, class Scalar, class = void>
struct is_pair_loss : std::false_type {};
template <class L, class Scalar>
struct is_pair_loss<L, Scalar,
                    std::void_t<decltype(std::declval<L&>().accumulate(
                        std::declval<EmbeddingView<const Scalar>>(),
                        std::declval<EmbeddingView<const Scalar>>(), std::declval<LabelView>(),
                        Scalar(1), std::declval<EmbeddingView<Scalar>>(),
                        std::declval<EmbeddingView<Scalar>>()))>> : std::true_type {};
template <class L, class Scalar>
inline constexpr bool is_pair_loss_v = is_pair_loss<L, Scalar>::value;

}  // namespace ccl::loss
