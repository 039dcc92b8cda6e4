// CRD's and CMC's memory banks across ranks: wrapped in dist::GlobalObjective, the objective sees
// the global batch and its dataset indices, so every rank updates its banks with every rank's
// rows, in the same order. Three SGD steps on R ranks leave parameters, banks, normalisation
// constants and the negative sampler's state equal to one rank with the global batch (1e-10,
// relative to max(1, |value|)), and identical on every rank.

#include "dist_pipeline_fixture.hpp"

#include <catch2/catch.hpp>

#include <ccl/dist/gradients.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/dist/sampler.hpp>
#include <ccl/dist/single.hpp>
#include <ccl/pipeline/no_composition.hpp>
#include <ccl/pipeline/objectives/cmc_objective.hpp>
#include <ccl/pipeline/objectives/crd_objective.hpp>

#include <string>
#include <vector>

using namespace dist_fixture;
namespace objectives = ccl::pipeline::objectives;

namespace {

ccl::loss::baselines::MemoryContrastOptions bank_options() {
  ccl::loss::baselines::MemoryContrastOptions options;
  options.negatives = 16;
  return options;
}

template <class Comm, class MakeObjective>
auto make_bank_pipeline(Comm& comm, MakeObjective&& make_objective) {
  using namespace ccl::pipeline;
  ccl::Rng rng(5);
  auto encoder = make_encoder(comm, rng);
  Student<decltype(encoder), double> student(std::move(encoder), kWidth, kClasses, rng);
  return ccl::pipeline::make_pipeline(
      std::move(student),
      branch<ccl::Audio>(teacher::Precomputed<double>(kTeacherDim), NoComposition<double>{},
                         ccl::dist::global_objective(comm, make_objective(rng))));
}

template <class Pipeline>
struct Trainable {
  Pipeline* p;
  template <class Visit>
  void for_each_parameter(Visit&& visit) {
    p->for_each_student_parameter(visit);
    p->for_each_head_parameter(visit);
  }
};

/// Parameters, the student's running statistics, then every buffer of the objective (banks,
/// normalisers, sampler state).
template <class Comm, class MakeObjective>
std::vector<double> train_steps(Comm& comm, Index global_batch, MakeObjective make_objective) {
  const ClipSet data(40, 3);
  auto pipeline = make_bank_pipeline(comm, make_objective);
  ccl::optim::Sgd<double> sgd;
  add_groups(sgd, pipeline, 0.2);
  Trainable<decltype(pipeline)> trainable{&pipeline};
  const ccl::dist::DistributedSampler sampler(data.size(), global_batch / comm.size(), comm.rank(),
                                              comm.size(), /*seed=*/9);
  for (int step = 0; step < 3; ++step) {
    const auto indices = sampler.batch(/*epoch=*/0, step);
    const auto batch = data.load(indices);
    pipeline.set_batch_indices(indices);
    sgd.zero_grad();
    pipeline.step(batch.input, batch.labels, std::get<0>(batch.teacher_inputs));
    ccl::dist::average_gradients(comm, trainable);
    sgd.step();
  }
  std::vector<double> flat = flatten(pipeline);
  pipeline.template branch<0>().objective.for_each_buffer([&](const std::string&, auto& value) {
    for (Index i = 0; i < value.size(); ++i) flat.push_back(double(value.data()[i]));
  });
  return flat;
}

/// Largest |a − b| / max(1, |a|): the normalisation constants Z are large (of the order of the
/// dataset size times e^{1/T}), where a difference in the last bits exceeds 1e-10 in absolute
/// value.
double largest_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return 1e300;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(a[i])));
  return worst;
}

template <class MakeObjective>
void check_bank(const char* name, MakeObjective make_objective) {
  ccl::dist::mpi comm;
  ccl::dist::single one;
  const Index global_batch = 12;
  const auto reference = train_steps(one, global_batch, make_objective);
  const auto distributed = train_steps(comm, global_batch, make_objective);
  const double worst = largest_relative_difference(reference, distributed);
  // Every rank holds the same state: rank 0's, broadcast, equals each rank's own.
  std::vector<double> rank_zero = distributed;
  comm.broadcast(rank_zero.data(), ccl::Index(rank_zero.size()), 0);
  INFO(name << " on " << comm.size() << " ranks: largest (relative) difference from 1 rank "
            << worst);
  CHECK(worst <= 1e-10);
  CHECK(largest_difference(rank_zero, distributed) == 0.0);
}

}  // namespace

TEST_CASE("CRD's memory banks on R ranks equal one rank on the global batch") {
  const ClipSet data(40, 3);
  check_bank("CRD", [&](ccl::Rng& rng) {
    objectives::CrdObjectiveOptions options;
    options.embed_dim = 8;
    options.loss = bank_options();
    return objectives::CrdObjective<double>(kWidth, kTeacherDim, data.labels, rng, options);
  });
}

TEST_CASE("CMC's memory banks on R ranks equal one rank on the global batch") {
  check_bank("CMC", [](ccl::Rng& rng) {
    objectives::CmcObjectiveOptions options;
    options.embed_dim = 8;
    static_cast<ccl::loss::baselines::MemoryContrastOptions&>(options.loss) = bank_options();
    return objectives::CmcObjective<double>(kWidth, kTeacherDim, 40, rng, options);
  });
}
