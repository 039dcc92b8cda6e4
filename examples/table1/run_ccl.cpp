// Table 1, CCL rows: the official objective and gradient routing (method.md §4.6): residual
// composition heads, symmetric multi-class NCE (τ_audio = 0.5, τ_image = 0.1), the "JSD" between
// the student's and each head's posteriors, and in AI mode the student's share halved. The tuning
// grid (main.cpp) scales the loss weight, changes the temperatures or switches to the paper's
// routing with λ (RunOptions). Over several ranks the objective runs on the global batch
// (parallel.hpp).

#include "run.hpp"

#include <ccl/compose/residual.hpp>
#include <ccl/pipeline/ccl_objective.hpp>

namespace table1 {

namespace {

using namespace ccl::pipeline;

template <class Modality>
auto ccl_branch(const Context& ctx, double tau, double loss_weight, ccl::Rng& rng) {
  CclObjectiveOptions o;
  o.temperature = tau;
  o.loss_weight = loss_weight * ctx.options.ccl_weight_scale;
  o.routing = ctx.options.ccl_paper_routing ? Routing::paper : Routing::official;
  o.lambda = ctx.options.ccl_lambda;
  const Index d = ctx.options.dim, classes = Index(ctx.bench.class_names.size());
  return branch<Modality>(teacher::Precomputed<float>(d),
                          ccl::compose::Residual<float>(d, d, classes, rng),
                          data_parallel(ctx.comm, CclObjective<float>(o)));
}

}  // namespace

CellResult run_ccl(Mode mode, const Context& ctx) {
  ccl::Rng rng(ctx.options.seed);
  auto student = make_student(ctx, rng);
  switch (mode) {
    case Mode::audio: {
      auto p = make_pipeline(std::move(student), ccl_branch<ccl::Audio>(ctx, ctx.options.tau_audio, 1.0, rng));
      return train_and_evaluate<Mode::audio>(p, ctx, Method::ccl);
    }
    case Mode::image: {
      auto p = make_pipeline(std::move(student), ccl_branch<ccl::Image>(ctx, ctx.options.tau_image, 1.0, rng));
      return train_and_evaluate<Mode::image>(p, ctx, Method::ccl);
    }
    case Mode::both: {
      auto p = make_pipeline(std::move(student), ccl_branch<ccl::Audio>(ctx, ctx.options.tau_audio, 0.5, rng),
                             ccl_branch<ccl::Image>(ctx, ctx.options.tau_image, 0.5, rng));
      return train_and_evaluate<Mode::both>(p, ctx, Method::ccl);
    }
    case Mode::none: break;
  }
  throw ccl::error("table1: CCL needs at least one teacher");
}

}  // namespace table1
