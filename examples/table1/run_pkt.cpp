// Table 1, PKT rows: probabilistic knowledge transfer of the cosine-similarity structure, β = 30000 (method.md §8.3).

#include "run.hpp"

#include <ccl/pipeline/objectives/pair_objective.hpp>

namespace table1 {

CellResult run_pkt(Mode mode, const Context& ctx) {
  return run_with_objective(Method::pkt, mode, ctx, [&](ccl::Rng&) {
    using Loss = ccl::loss::baselines::Pkt<float>;
    return ccl::pipeline::objectives::PktObjective<float>(
        Loss{}, ccl::pipeline::objectives::default_beta_v<Loss> * ctx.options.beta_scale);
  });
}

}  // namespace table1
