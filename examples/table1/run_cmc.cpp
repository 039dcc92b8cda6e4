// Table 1, CMC rows: contrastive multiview coding as a distiller: CRD's machinery with label-agnostic negatives (method.md §8.8).

#include "run.hpp"

#include <ccl/pipeline/objectives/cmc_objective.hpp>

namespace table1 {

CellResult run_cmc(Mode mode, const Context& ctx) {
  return run_with_objective(Method::cmc, mode, ctx, [&](ccl::Rng& rng) {
    ccl::pipeline::objectives::CmcObjectiveOptions options;
    options.beta *= ctx.options.beta_scale;
    return ccl::pipeline::objectives::CmcObjective<float>(
        ctx.options.dim, ctx.options.dim, ctx.bench.clips_train.count, rng, options);
  });
}

}  // namespace table1
