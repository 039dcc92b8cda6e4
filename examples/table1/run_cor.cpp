// Table 1, COR rows: correlation congruence in RepDistiller's form with trainable Linear(d → 128) heads, β = 0.02 (method.md §8.4).

#include "run.hpp"

#include <ccl/pipeline/objectives/cor_objective.hpp>

namespace table1 {

CellResult run_cor(Mode mode, const Context& ctx) {
  return run_with_objective(Method::cor, mode, ctx, [&](ccl::Rng& rng) {
    using Objective = ccl::pipeline::objectives::CorObjective<float>;
    return Objective(ctx.options.dim, ctx.options.dim, rng,
                     Objective::default_beta * ctx.options.beta_scale);
  });
}

}  // namespace table1
