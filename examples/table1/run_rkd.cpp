// Table 1, RKD rows: relational distillation, 25·distance + 50·angle, β = 1 (method.md §8.5).

#include "run.hpp"

#include <ccl/pipeline/objectives/pair_objective.hpp>

namespace table1 {

CellResult run_rkd(Mode mode, const Context& ctx) {
  return run_with_objective(Method::rkd, mode, ctx, [&](ccl::Rng&) {
    using Loss = ccl::loss::baselines::Rkd<float>;
    return ccl::pipeline::objectives::RkdObjective<float>(
        Loss{}, ccl::pipeline::objectives::default_beta_v<Loss> * ctx.options.beta_scale);
  });
}

}  // namespace table1
