// Catch2 main of the MPI tests: MPI_Init before the test cases, MPI_Finalize after, and one
// process exit status for every rank (a failure on any rank fails all, so mpirun reports it).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <ccl/dist/mpi.hpp>

int main(int argc, char** argv) {
  ccl::dist::environment env(argc, argv);
  int failed = Catch::Session().run(argc, argv) != 0 ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}
