// Table 1, CRD rows: contrastive representation distillation with memory banks and class-aware negatives, β = 0.8 (method.md §8.6).

#include "run.hpp"

#include <ccl/pipeline/objectives/crd_objective.hpp>

namespace table1 {

CellResult run_crd(Mode mode, const Context& ctx) {
  return run_with_objective(Method::crd, mode, ctx, [&](ccl::Rng& rng) {
    ccl::pipeline::objectives::CrdObjectiveOptions options;
    options.beta *= ctx.options.beta_scale;
    return ccl::pipeline::objectives::CrdObjective<float>(
        ctx.options.dim, ctx.options.dim, ctx.bench.clips_train.labels, rng, options);
  });
}

}  // namespace table1
