// Table 1, IFD rows: information-flow kernels (cosine + Student-t, Jeffreys divergence; the expansion of 'IFD' is inferred, method.md §8.7).

#include "run.hpp"

#include <ccl/pipeline/objectives/pair_objective.hpp>

namespace table1 {

CellResult run_ifd(Mode mode, const Context& ctx) {
  return run_with_objective(Method::ifd, mode, ctx, [&](ccl::Rng&) {
    using Loss = ccl::loss::baselines::Ifd<float>;
    return ccl::pipeline::objectives::IfdObjective<float>(
        Loss{}, ccl::pipeline::objectives::default_beta_v<Loss> * ctx.options.beta_scale);
  });
}

}  // namespace table1
