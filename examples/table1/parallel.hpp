#pragma once
// table1 under mpirun / srun: the run-time communicator, launcher detection, broadcast helpers and
// the data-parallel objective, shared with ucf51_train (../common/ranks.hpp says what they do).
// Every cell's student training is data-parallel over R > 1 ranks (run.hpp, student.hpp); with
// one rank the results are bit-identical to a build without MPI.

#include "../common/ranks.hpp"

namespace table1 {

using ccl_examples::broadcast_bytes;
using ccl_examples::broadcast_matrix;
using ccl_examples::Communicator;
using ccl_examples::data_parallel;
using ccl_examples::DataParallelObjective;
using ccl_examples::launched_by_mpi;
using ccl_examples::rank_zero_value;
using ccl_examples::run_on_ranks;

}  // namespace table1
