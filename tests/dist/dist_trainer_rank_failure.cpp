// A rank whose dataset throws in the middle of Trainer::fit must end every rank: the others are
// inside the step's collectives, and dist::guard's MPI_Abort ends them. The ctest registration
// checks the message (PASS_REGULAR_EXPRESSION) and a TIMEOUT bounds the wait.
#include "dist_pipeline_fixture.hpp"

#include <ccl/core/error.hpp>
#include <ccl/dist/mpi.hpp>
#include <ccl/pipeline/trainer.hpp>

namespace {

struct FailingSet : dist_fixture::ClipSet {
  int rank = 0, failing_rank = 0;
  mutable int loads = 0;
  FailingSet(int r, int f) : ClipSet(40, 3), rank(r), failing_rank(f) {}
  Batch load(const std::vector<ccl::Index>& indices) const {
    if (rank == failing_rank && ++loads == 2) throw ccl::error("deliberate dataset failure");
    return ClipSet::load(indices);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  return ccl::dist::guard([] {
    ccl::dist::mpi comm;
    const FailingSet train(comm.rank(), comm.size() - 1);
    auto pipeline = dist_fixture::make_pipeline(comm);
    ccl::optim::Sgd<double> sgd;
    dist_fixture::add_groups(sgd, pipeline);
    ccl::pipeline::TrainerOptions options;
    options.batch_size = 4;
    options.epochs = 2;
    options.progress = ccl::pipeline::ProgressStyle::none;
    ccl::pipeline::Trainer trainer(pipeline, sgd, options, comm);
    trainer.fit(train);
  });
}
