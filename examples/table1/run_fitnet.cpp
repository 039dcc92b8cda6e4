// Table 1, FitNet rows: β·MSE(r(x_v), x_t) with a trainable regressor r = Linear → BatchNorm1d → ReLU, β = 100 (method.md §8.2).

#include "run.hpp"

#include <ccl/pipeline/objectives/fitnet_objective.hpp>

namespace table1 {

CellResult run_fitnet(Mode mode, const Context& ctx) {
  return run_with_objective(Method::fitnet, mode, ctx, [&](ccl::Rng& rng) {
    using Objective = ccl::pipeline::objectives::FitNetObjective<float>;
    return Objective(ctx.options.dim, ctx.options.dim, rng,
                     Objective::default_beta * ctx.options.beta_scale);
  });
}

}  // namespace table1
