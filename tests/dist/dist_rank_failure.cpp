// A rank that throws must end every rank: rank 1 throws while the others wait in a barrier;
// dist::guard prints the error and aborts, so mpirun exits non-zero in bounded time. The ctest
// registration checks the message (PASS_REGULAR_EXPRESSION) and a TIMEOUT bounds the wait.
#include <ccl/core/error.hpp>
#include <ccl/dist/mpi.hpp>

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  return ccl::dist::guard([] {
    ccl::dist::mpi comm;
    if (comm.rank() == comm.size() - 1) throw ccl::error("deliberate failure of the last rank");
    comm.barrier();  // never completes: the failed rank does not reach it
  });
}
