#pragma once
// What every Table 1 baseline objective shares (method.md §8): the terms it reports, the check of
// its weight β, and the check that its branch composes nothing.
//
// A baseline branch adds β · L_distill(f_s = x_v, f_t = x_t) to the student's objective; the
// pipeline adds CE(z_v, y) once. The teacher is frozen: no baseline objective ever asks a loss
// for the teacher's gradient. Auxiliary trainable modules (FitNet's regressor, the embedding heads
// of COR, CRD and CMC) are trained jointly with the student on the same β · L (method.md §8:
// "optimised jointly with the student by the same optimiser"), so their objective — head_total —
// is the branch's student share; objectives without such modules report head_total = 0.

#include <ccl/core/error.hpp>
#include <ccl/pipeline/no_composition.hpp>

#include <cmath>
#include <type_traits>

namespace ccl::pipeline::objectives {

template <class Scalar>
struct BaselineTerms {
  Scalar distill = 0;        ///< the raw distillation loss L(x_v, x_t) of the branch's rows
  Scalar student_total = 0;  ///< β · L: the branch's share of the student's objective
  Scalar head_total = 0;     ///< β · L when the objective has trainable modules, else 0
};

namespace detail {

template <class Composition>
struct is_no_composition : std::false_type {};
template <class Scalar>
struct is_no_composition<NoComposition<Scalar>> : std::true_type {};

/// Instantiated by every baseline objective's accumulate: a composition head next to a baseline
/// would be handed to the optimiser but never receive a gradient.
template <class Composition, class Scalar>
constexpr bool assert_no_composition() {
  static_assert(is_no_composition<Composition>::value,
                "ccl::pipeline::objectives: a Table 1 baseline objective distils x_t into x_v "
                "directly; give its branch ccl::pipeline::NoComposition<Scalar>{} as the "
                "composition (a composition head would never receive a gradient)");
  static_assert(std::is_same_v<typename Composition::scalar_type, Scalar>,
                "ccl::pipeline::objectives: the branch's NoComposition<Scalar> and the objective "
                "must use the same scalar type");
  return true;
}

inline double checked_beta(const char* op, double beta) {
  require(std::isfinite(beta) && beta >= 0, op, ": beta (the weight of the distillation term) "
          "must be finite and >= 0, got ", beta);
  return beta;
}

template <class Scalar>
BaselineTerms<Scalar> make_terms(Scalar distill, double beta, bool has_modules) {
  BaselineTerms<Scalar> terms;
  terms.distill = distill;
  terms.student_total = Scalar(beta * double(distill));
  terms.head_total = has_modules ? terms.student_total : Scalar(0);
  return terms;
}

}  // namespace detail
}  // namespace ccl::pipeline::objectives
