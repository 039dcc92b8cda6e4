// Table 1, first row: the student trained with cross-entropy alone (method.md §4.7).

#include "run.hpp"

namespace table1 {

CellResult run_baseline(const Context& ctx) {
  ccl::Rng rng(ctx.options.seed);
  auto pipeline = ccl::pipeline::make_pipeline(make_student(ctx, rng));
  return train_and_evaluate<Mode::none>(pipeline, ctx, Method::baseline);
}

}  // namespace table1
