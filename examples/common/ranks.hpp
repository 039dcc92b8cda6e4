#pragma once
// The ranks an example trains over under mpirun / srun, and what a pipeline needs to train
// data-parallel over them (docs/distributed.md: "The Table 1 example under mpirun",
// "ucf51_train under mpirun"). Shared by table1 and ucf51_train.
//
//   mpirun -np 4 table1 --methods baseline,CCL --modes AI     (srun -n 4 table1 ... under Slurm)
//
// Built against ccl::mpi (CCL_EXAMPLES_MPI) when CMake finds an MPI. A process started by an MPI
// launcher (mpirun, mpiexec, srun: recognised by the variables they set, launched_by_mpi())
// joins MPI_COMM_WORLD; any other start, and every start of a build without MPI, is one process
// that never calls MPI and runs exactly the single-process code path.
//
// With R > 1 ranks a student's training is data-parallel: each rank takes its shard of every
// global batch, the R(2+1)D's BatchNorms are synchronised (dist::SyncBatchNorm3d), the branch
// objectives run on the global batch (dist::GlobalObjective through DataParallelObjective below),
// and gradients are averaged and metrics reduced (the Trainer, or the example's own loop). With
// R == 1 none of this runs: the plain BatchNorm3d, the objective called directly, the one-process
// path (the results are bit-identical to a build without MPI).

#include <ccl/core/backend.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/dist/communicator.hpp>
#include <ccl/dist/global_objective.hpp>
#include <ccl/dist/rank_zero.hpp>
#include <ccl/dist/single.hpp>
#ifdef CCL_EXAMPLES_MPI
#include <ccl/dist/mpi.hpp>
#endif

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace ccl_examples {

using ccl::Index;

/// The ranks of a run: MPI_COMM_WORLD under an MPI launcher, else one process (dist::single).
/// Models ccl's communicator concept, so the Trainer, SyncBatchNorm3d and GlobalObjective take it
/// as they take dist::mpi; the choice is made at run time so that every cell's pipeline is
/// compiled once, not once per transport.
class Communicator {
 public:
  /// One process: never calls MPI.
  Communicator() = default;
#ifdef CCL_EXAMPLES_MPI
  explicit Communicator(ccl::dist::mpi comm) : mpi_(std::move(comm)) {}
#endif

  int rank() const {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->rank();
#endif
    return 0;
  }
  int size() const {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->size();
#endif
    return 1;
  }
  /// Rank 0 prints progress and writes every file (reports, plots, caches).
  bool lead() const { return rank() == 0; }

  template <class T>
  void all_reduce_sum(T* data, Index count) {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->all_reduce_sum(data, count);
#endif
    single_.all_reduce_sum(data, count);
  }
  template <class T>
  void all_gather(const T* local, Index count, T* gathered) {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->all_gather(local, count, gathered);
#endif
    single_.all_gather(local, count, gathered);
  }
  template <class T>
  void broadcast(T* data, Index count, int root) {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->broadcast(data, count, root);
#endif
    single_.broadcast(data, count, root);
  }
  void barrier() {
#ifdef CCL_EXAMPLES_MPI
    if (mpi_) return mpi_->barrier();
#endif
    single_.barrier();
  }

 private:
  ccl::dist::single single_;
#ifdef CCL_EXAMPLES_MPI
  std::optional<ccl::dist::mpi> mpi_;
#endif
};

static_assert(ccl::dist::is_communicator_v<Communicator>,
              "ccl_examples::Communicator must model ccl's communicator concept");

/// True when an MPI launcher started this process: OpenMPI's mpirun (OMPI_COMM_WORLD_SIZE),
/// MPICH / Intel MPI's Hydra and Slurm's PMI-2 (PMI_SIZE), PMIx launchers such as srun
/// --mpi=pmix and OpenMPI 5 (PMIX_RANK). Checked before MPI_Init, which a plain start never calls.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return true;
  return false;
}

/// Runs `body(comm)` over the launcher's ranks, or in one process. Returns main's exit status.
/// Under MPI a rank that throws prints "ccl: rank R failed: ..." and aborts every rank
/// (dist::guard), so no rank waits forever in a collective the failed one left; in one process
/// the error is printed as "<program>: ..." and the status is 1, as before.
template <class Body>
int run_on_ranks(int& argc, char**& argv, const char* program, Body&& body) {
#ifdef CCL_EXAMPLES_MPI
  if (launched_by_mpi()) {
    ccl::dist::environment env(argc, argv);
    return ccl::dist::guard([&] {
      Communicator comm{ccl::dist::mpi()};
      body(comm);
    });
  }
#else
  (void)argc;
  (void)argv;
#endif
  try {
    Communicator comm;
    body(comm);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

// Rank 0's bytes and flags on every rank: the library's (ccl/dist/rank_zero.hpp).
using ccl::dist::broadcast_bytes;
using ccl::dist::rank_zero_value;

/// Rank 0's matrix (shape and values) on every rank.
template <class Matrix>
void broadcast_matrix(Communicator& comm, Matrix& m) {
  if (comm.size() == 1) return;
  std::int64_t shape[2] = {m.rows(), m.cols()};
  comm.broadcast(shape, 2, 0);
  if (!comm.lead()) m.resize(Index(shape[0]), Index(shape[1]));
  if (m.size() > 0) comm.broadcast(m.data(), Index(m.size()), 0);
}

namespace detail {

template <class O, class = void>
struct wants_indices : std::false_type {};
template <class O>
struct wants_indices<O, std::void_t<decltype(std::declval<O&>().set_indices(
                            std::declval<const std::vector<Index>&>()))>> : std::true_type {};

}  // namespace detail

/// A branch objective of a cell on the global batch: dist::GlobalObjective over R > 1 ranks; on
/// one rank the wrapped objective itself, called with the very arguments the pipeline passes.
/// (GlobalObjective on one rank computes the same terms, but adds the objective's student
/// gradient to the cross-entropy's after summing it in its own buffer, which moves the last bits:
/// one-process runs stay bit-identical to those of a build without MPI.)
///
/// Every method's objective is wrapped this way: CCL's, FitNet's regressor with its BatchNorm1d
/// (which then normalises the global batch), COR's heads, PKT, RKD, IFD, and CRD's and CMC's
/// memory banks (updated with every rank's rows, identical on every rank).
template <class Objective>
class DataParallelObjective {
  using Global = ccl::dist::GlobalObjective<Communicator, Objective, float>;

 public:
  using backend_type = ccl::cpu;
  using objective_type = Objective;
  using Terms = typename Objective::Terms;
  /// The pipeline then calls accumulate at every step, also with no row that has a teacher: over
  /// several ranks the others' all-gathers wait for this one's. One process skips such a step,
  /// as the pipeline does for an objective that does not communicate.
  static constexpr bool collective = true;

  DataParallelObjective(Communicator& comm, Objective objective)
      : global_(comm, std::move(objective)), distributed_(comm.size() > 1) {}

  template <class O = Objective, class = std::enable_if_t<detail::wants_indices<O>::value>>
  void set_indices(const std::vector<Index>& indices) {
    if (distributed_) {
      global_.set_indices(indices);
    } else {
      indices_ = indices;  // passed on only when the objective runs (not on a skipped step)
    }
  }

  template <class Composition>
  Terms accumulate(Composition& composition, ccl::EmbeddingView<const float> x_v,
                   ccl::EmbeddingView<const float> z_v, ccl::EmbeddingView<const float> x_t,
                   ccl::LabelView labels, ccl::EmbeddingView<float> grad_x_v,
                   ccl::EmbeddingView<float> grad_z_v) {
    if (distributed_)
      return global_.accumulate(composition, x_v, z_v, x_t, labels, grad_x_v, grad_z_v);
    if (x_v.rows() == 0) return Terms{};
    Objective& objective = global_.objective();
    if constexpr (detail::wants_indices<Objective>::value) objective.set_indices(indices_);
    return objective.accumulate(composition, x_v, z_v, x_t, labels, grad_x_v, grad_z_v);
  }

  template <class Visitor, class G = Global>
  auto for_each_parameter(Visitor&& visit)
      -> decltype(std::declval<G&>().for_each_parameter(visit)) {
    return global_.for_each_parameter(visit);
  }
  template <class Visitor, class G = Global>
  auto for_each_buffer(Visitor&& visit) -> decltype(std::declval<G&>().for_each_buffer(visit)) {
    return global_.for_each_buffer(visit);
  }
  template <class G = Global>
  auto zero_grad() -> decltype(std::declval<G&>().zero_grad()) {
    return global_.zero_grad();
  }

 private:
  Global global_;
  bool distributed_;
  std::vector<Index> indices_;
};

template <class Objective>
DataParallelObjective<Objective> data_parallel(Communicator& comm, Objective objective) {
  return DataParallelObjective<Objective>(comm, std::move(objective));
}

}  // namespace ccl_examples
