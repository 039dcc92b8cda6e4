// A downstream MPI program: every rank contributes rank + 1; rank 0 prints the sum.
#include <ccl/dist/metrics.hpp>
#include <ccl/dist/mpi.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  return ccl::dist::guard([] {
    ccl::dist::mpi comm;
    const auto sums = ccl::dist::sum_over_ranks(comm, {double(comm.rank() + 1)});
    if (comm.rank() == 0)
      std::printf("ccl::mpi consumer: %d ranks, sum %.0f\n", comm.size(), sums[0]);
  });
}
