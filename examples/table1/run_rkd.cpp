// Table 1, RKD rows: relational distillation, 25·distance + 50·angle, β = 1 (method.md §8.5).

#include "run.hpp"

#include <ccl/pipeline/objectives/pair_objective.hpp>

namespace table1 {

CellResult run_rkd(Mode mode, const Context& ctx) {
  return run_with_objective(Method::rkd, mode, ctx, [](ccl::Rng&) {
    return ccl::pipeline::objectives::RkdObjective<float>();
  });
}

}  // namespace table1
